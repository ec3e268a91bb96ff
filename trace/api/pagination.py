"""Page arguments and page envelopes: ``{"items": [...], "page", "per_page", "total", "pages"}``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import func
from sqlmodel import Session, select

MAX_PER_PAGE = 500


class PageQueryArgsSchema(Schema):
    """Which page of a list to return."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageSchema(Schema):
    """The pagination fields every list response carries beside ``items``."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Items over all pages."})
    pages = fields.Integer(required=True)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A page envelope schema whose ``items`` are ``item`` objects."""
    declared: dict[str, Any] = {
        "items": fields.List(fields.Nested(item), required=True),
        "__doc__": f"A page of {item.__name__.removesuffix('Schema')} objects.",
    }
    return type(name, (PageSchema,), declared)


@dataclass(frozen=True)
class Page:
    """One page of results and where it sits in the whole list."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


def paginate(session: Session, statement: Any, args: dict[str, Any]) -> Page:
    """Run ``statement`` for the requested page (its ORDER BY must be stable)."""
    page, per_page = int(args["page"]), int(args["per_page"])
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(statement.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(rows), page, per_page, int(total))


def page_body(page: Page, items: list[Any]) -> dict[str, Any]:
    """The page envelope around items already converted for the response schema."""
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


def whole_list(items: list[Any]) -> dict[str, Any]:
    """A short list that always fits on one page, in the same envelope."""
    return page_body(Page(items, 1, max(len(items), 1), len(items)), items)

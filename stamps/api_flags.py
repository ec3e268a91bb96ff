"""Flag reviews and clone-rule limits in the inspector API.

``GET /api/v1/flags`` lists flags with their review; ``POST /api/v1/flags/{id}/review``
confirms or dismisses one (an inspector's ``capture`` token); ``/api/v1/clone-limits``
reads and (an administrator's ``admin`` token) sets the limits, per product or the
province default.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlmodel import col

from stamps.flag_review import (
    DECISIONS,
    LIMIT_RANGES,
    clear_limits,
    flags_query,
    limits_of,
    review_flag,
    set_limits,
    threshold_rows,
)
from stamps.identity import stamp_uri
from stamps.models import CloneThreshold, FlagReview, FlagRule, StampFlag
from trace.api import ApiBlueprint, auth
from trace.api.pagination import PageQueryArgsSchema, page_body, page_schema, paginate
from trace.db import get_session
from trace.extensions import api
from trace.models.tokens import Scope

blp = ApiBlueprint(
    "flags_api", __name__, url_prefix="/api/v1", description="Clone flags and their review."
)


class FlagReviewQueryArgsSchema(PageQueryArgsSchema):
    """Which flags to list."""

    review = fields.String(validate=validate.OneOf([str(r) for r in FlagReview]))
    rule = fields.String(validate=validate.OneOf([str(r) for r in FlagRule]))


class ReviewedFlagSchema(Schema):
    """A clone flag, its stamp and its review."""

    id = fields.Integer(required=True)
    rule = fields.String(required=True)
    detail = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    review = fields.String(required=True, validate=validate.OneOf([str(r) for r in FlagReview]))
    review_note = fields.String(required=True)
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by_id = fields.Integer(allow_none=True)
    serial = fields.String(required=True)
    uri = fields.String(required=True)
    lot_id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    stamp_flagged = fields.Boolean(
        required=True, metadata={"description": "Whether the stamp reads SUSPICIOUS now."}
    )


class FlagReviewCreateSchema(Schema):
    """An inspector's decision on a flag."""

    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def _limit_fields() -> dict[str, fields.Field]:
    return {
        name: (fields.Integer if name == "max_scans" else fields.Float)(
            allow_none=True, validate=validate.Range(min=low, max=high)
        )
        for name, (low, high) in LIMIT_RANGES.items()
    }


CloneLimitsSetSchema = Schema.from_dict(_limit_fields(), name="CloneLimitsSetSchema")


class CloneLimitsSchema(Schema):
    """Limits as set (empty: inherited) and as applied, for a product or the default."""

    product_id = fields.Integer(allow_none=True)
    set = fields.Dict(required=True, metadata={"description": "What an admin set here."})
    applied = fields.Dict(required=True, metadata={"description": "What the rules apply."})
    updated_at = fields.DateTime(allow_none=True)


FlagPage = page_schema(ReviewedFlagSchema, "ReviewedFlagPageSchema")
CloneLimitsListSchema = Schema.from_dict(
    {"items": fields.List(fields.Nested(CloneLimitsSchema), required=True)},
    name="CloneLimitsListSchema",
)


@blp.route("/flags")
class Flags(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(FlagReviewQueryArgsSchema, location="query")
    @blp.response(200, FlagPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Clone flags, newest first, by review (open, confirmed, dismissed) and rule."""
        session = get_session()
        statement = flags_query(auth.actor(), args.get("review"), args.get("rule"))
        page = paginate(session, statement, args)
        return page_body(page, [flag_item(*row) for row in page.items])


@blp.route("/flags/<int:flag_id>/review")
class FlagReviewResource(MethodView):
    @auth.requires(blp, Scope.CAPTURE)
    @auth.errors(blp, 404, 422)
    @blp.arguments(FlagReviewCreateSchema)
    @blp.response(200, ReviewedFlagSchema)
    def post(self, body: dict[str, Any], flag_id: int) -> dict[str, Any]:
        """Confirm a flag (the stamp stays SUSPICIOUS) or dismiss it (it stops counting)."""
        session = get_session()
        flag = review_flag(session, auth.actor(), flag_id, body["decision"], body["note"])
        row = session.execute(flags_query(auth.actor()).where(col(StampFlag.id) == flag.id)).one()
        return flag_item(*row)


@blp.route("/clone-limits")
class CloneLimitsIndex(MethodView):
    @auth.requires(blp, Scope.READ)
    @blp.response(200, CloneLimitsListSchema)
    def get(self) -> dict[str, Any]:
        """The province default and every product's own limits, as set and as applied."""
        session = get_session()
        rows = threshold_rows(session)
        if not any(row.product_id is None for row in rows):
            rows.insert(0, CloneThreshold(product_id=None))
        return {"items": [limits_item(session, row) for row in rows]}


@blp.route("/clone-limits/default")
class DefaultCloneLimits(MethodView):
    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 422)
    @blp.arguments(CloneLimitsSetSchema)
    @blp.response(200, CloneLimitsSchema)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set the province default (applies to products without limits of their own)."""
        session = get_session()
        return limits_item(session, set_limits(session, auth.actor(), None, body))


@blp.route("/clone-limits/products/<int:product_id>")
class ProductCloneLimits(MethodView):
    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 404, 422)
    @blp.arguments(CloneLimitsSetSchema)
    @blp.response(200, CloneLimitsSchema)
    def put(self, body: dict[str, Any], product_id: int) -> dict[str, Any]:
        """Set a product's own limits; an empty limit falls back to the province default."""
        session = get_session()
        return limits_item(session, set_limits(session, auth.actor(), product_id, body))

    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 404)
    @blp.response(204)
    def delete(self, product_id: int) -> None:
        """Drop a product's own limits: the province default applies again."""
        clear_limits(get_session(), auth.actor(), product_id)


def flag_item(flag: StampFlag, stamp: Any, lot: Any, product: Any) -> dict[str, Any]:
    """A flag with its review and stamp, as the API shows it."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "id": flag.id,
        "rule": flag.rule,
        "detail": flag.detail,
        "created_at": flag.created_at,
        "review": flag.review,
        "review_note": flag.review_note,
        "reviewed_at": flag.reviewed_at,
        "reviewed_by_id": flag.reviewed_by_id,
        "serial": stamp.serial,
        "uri": stamp_uri(base, product.gtin, lot.code, stamp.serial),
        "lot_id": lot.id,
        "product_id": product.id,
        "stamp_flagged": stamp.flagged,
    }


def limits_item(session: Any, row: CloneThreshold) -> dict[str, Any]:
    """Limits as set on a row and as the rules apply them."""
    applied = limits_of(session, row.product_id)
    return {
        "product_id": row.product_id,
        "set": {name: getattr(row, name) for name in LIMIT_RANGES},
        "applied": {name: getattr(applied, name) for name in LIMIT_RANGES},
        "updated_at": row.updated_at if row.id is not None else None,
    }


def init_app(app: Flask) -> None:
    """Register the flag and limit resources on the API."""
    api(app).register_blueprint(blp)

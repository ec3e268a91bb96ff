"""CSV feeds for sellers whose marketplace has no API: the listings in its own field names."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from marketplace.adapters.postmart import to_postmart
from marketplace.adapters.voso import to_voso
from marketplace.listing import desired_listing
from marketplace.models import ListingSync
from marketplace.protocol import Listing
from trace.errors import NotFound
from trace.reports.cells import SafeDictWriter
from trace.services.access import Actor

STYLES: dict[str, Callable[[Listing], dict[str, Any]]] = {"postmart": to_postmart, "voso": to_voso}


def feed_csv(session: Session, actor: Actor, marketplace: str, base_url: str) -> str:
    """The actor's products offered on ``marketplace``, one CSV row each, as it would list them.

    Nested fields become dotted columns; lists are joined with `` | ``.

    :raises NotFound: an unknown marketplace style, or the actor has no producer.
    """
    style = STYLES.get(marketplace)
    if style is None or actor.producer_id is None:
        raise NotFound()
    statement = select(ListingSync).where(
        ListingSync.producer_id == actor.producer_id,
        ListingSync.marketplace == marketplace,
        col(ListingSync.enabled).is_(True),
    )
    records = [
        flatten(style(desired_listing(session, row, base_url)))
        for row in session.exec(statement.order_by(col(ListingSync.product_id)))
    ]
    columns = list(records[0]) if records else list(flatten(style(_example())))
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` as ``{"a.b": "1", "c": "1 | 2"}``."""
    flat: dict[str, str] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat |= flatten(item, f"{name}.")
        elif isinstance(item, list):
            flat[name] = " | ".join(_cell(part) for part in item)
        else:
            flat[name] = str(item)
    return flat


def _cell(part: Any) -> str:
    if isinstance(part, dict):
        return " ".join(str(v) for v in part.values())
    return str(part)


def _example() -> Listing:
    return Listing("", "", "", "other", "", 0, 0, "")

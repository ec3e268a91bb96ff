"""A lot's recall as the stamps see it: every live stamp RECALLED, and where they were seen."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from stamps.identity import stamp_uri
from stamps.models import Scan, Stamp, StampStatus
from trace.models import Lot, Product

MAX_LISTED = 1_000


def recall_stamps(session: Session, lot_id: int) -> dict[str, Any]:
    """Recall hook: mark the lot's issued and active stamps RECALLED (void ones stay void).

    Runs inside the recall's transaction. :returns: ``{"stamps": {"recalled": n,
    "scanned": [...]}}``, the scanned ones most recently seen first.
    """
    session.execute(
        update(Stamp)
        .where(col(Stamp.lot_id) == lot_id)
        .where(col(Stamp.status).in_([StampStatus.ISSUED, StampStatus.ACTIVE]))
        .values(status=StampStatus.RECALLED)
    )
    recalled = session.exec(
        select(func.count()).where(Stamp.lot_id == lot_id, Stamp.status == StampStatus.RECALLED)
    ).one()
    return {"stamps": {"recalled": int(recalled), "scanned": last_scans(session, lot_id)}}


def last_scans(session: Session, lot_id: int) -> list[dict[str, Any]]:
    """The lot's scanned stamps with their latest scan's time and province."""
    latest = (
        select(Scan.stamp_id, func.max(Scan.id).label("scan_id"))
        .join(Stamp, col(Stamp.id) == Scan.stamp_id)
        .where(Stamp.lot_id == lot_id)
        .group_by(col(Scan.stamp_id))
        .subquery()
    )
    statement = (
        select(Stamp, Scan)
        .join(latest, latest.c.stamp_id == Stamp.id)
        .join(Scan, col(Scan.id) == latest.c.scan_id)
        .order_by(col(Scan.scanned_at).desc(), col(Scan.id).desc())
        .limit(MAX_LISTED)
    )
    uri = _uri_maker(session, lot_id)
    return [
        {
            "serial": stamp.serial,
            "uri": uri(stamp.serial),
            "scan_count": stamp.scan_count,
            "last_scanned_at": scan.scanned_at,
            "last_scan_province": scan.province,
        }
        for stamp, scan in session.exec(statement)
    ]


def _uri_maker(session: Session, lot_id: int) -> Any:
    lot = session.get(Lot, lot_id)
    assert lot is not None
    product = session.get(Product, lot.product_id)
    assert product is not None
    base = current_app.config["PUBLIC_BASE_URL"]
    return lambda serial: stamp_uri(base, product.gtin, lot.code, serial)


def recall_notice(session: Session, lot: Lot) -> dict[str, Any] | None:
    """What a scan says of a recalled lot: when, why, and the lot the recall came through.

    :returns: None for a lot that is not recalled; ``origin`` is None when the lot was
        recalled itself rather than because a lot it was made from was.
    """
    if lot.recalled_at is None:
        return None
    origin = session.get(Lot, lot.recall_origin_lot_id) if lot.recall_origin_lot_id else None
    return {
        "recalled_at": lot.recalled_at.isoformat(),
        "reason": lot.recall_reason,
        "origin": None if origin is None else _origin(session, origin),
    }


def _origin(session: Session, origin: Lot) -> dict[str, Any]:
    product = session.get(Product, origin.product_id)
    assert product is not None
    return {
        "lot_code": origin.code,
        "gtin": product.gtin,
        "product_name_vi": product.name_vi,
        "product_name_en": product.name_en,
    }

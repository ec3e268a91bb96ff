"""What a scan finds: the stamp's facts, the scan log and the clone rules.

The verdict is :mod:`stamps.verdict`'s; ``Verdict`` and ``verdict_of`` are re-exported here
for older callers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from stamps.identity import StampKey
from stamps.models import FlagRule, Scan, Stamp, StampFlag, StampStatus
from stamps.places import Place, distance_km
from stamps.verdict import Verdict as Verdict
from stamps.verdict import verdict_of as verdict_of
from trace.alerts.sources import alert_flag_raised
from trace.models import Lot, Plot, Producer, Product
from trace.models.base import utcnow

MAX_TRAVEL_KMH = 900.0  # faster than a scheduled flight: two people, or a copied label
MIN_TRAVEL_KM = 50.0
PREVIEW_AGENTS = re.compile(
    r"bot|crawl|spider|preview|facebookexternalhit|slack|whatsapp|telegram|discord|zalo"
    r"|skypeuri|embedly|linkedin|pinterest|curl-preview|headless-preview",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StampFacts:
    """A stamp with the lot, product, producer and plot it vouches for."""

    stamp: Stamp
    lot: Lot
    product: Product
    producer: Producer
    plot: Plot | None


# Built once: the scan path runs these on every scan, so only the parameters change.
_FIND_STAMP = (
    select(Stamp, Lot, Product, Producer, Plot)
    .join(Lot, col(Lot.id) == Stamp.lot_id)
    .join(Product, col(Product.id) == Lot.product_id)
    .join(Producer, col(Producer.id) == Lot.producer_id)
    .outerjoin(Plot, col(Plot.id) == Lot.plot_id)
    .where(Stamp.serial == bindparam("serial"))
)
_SCANS = Scan.__table__  # type: ignore[attr-defined]
_STAMPS = Stamp.__table__  # type: ignore[attr-defined]
_INSERT_SCAN = insert(_SCANS).returning(_SCANS.c.id)
# One statement bumps the counter, keeps the first scan's time and province, and reads
# back what concurrent scans left behind.
_COUNT_SCAN = (
    update(_STAMPS)
    .where(_STAMPS.c.id == bindparam("stamp"))
    .values(
        scan_count=_STAMPS.c.scan_count + 1,
        first_scan_at=func.coalesce(_STAMPS.c.first_scan_at, bindparam("now")),
        first_scan_province=func.coalesce(_STAMPS.c.first_scan_province, bindparam("province")),
    )
    .returning(
        _STAMPS.c.scan_count,
        _STAMPS.c.status,
        _STAMPS.c.flagged,
        _STAMPS.c.first_scan_at,
        _STAMPS.c.first_scan_province,
    )
)


def facts_of_serial(session: Session, serial: str) -> StampFacts | None:
    """The stamp with this (normalised) serial, with its lot, product, producer and plot."""
    row = session.exec(_FIND_STAMP, params={"serial": serial}).first()
    return None if row is None else StampFacts(*row)


def find_stamp(session: Session, key: StampKey) -> StampFacts | None:
    """The stamp named by a scanned key, if its serial, GTIN and lot all match."""
    facts = facts_of_serial(session, key.serial)
    if facts is None:
        return None
    if facts.product.gtin != key.gtin or facts.lot.code != key.lot:
        return None  # a real serial on the wrong product: a copied label
    return facts


def is_preview(method: str, user_agent: str) -> bool:
    """Link previews and crawlers look at pages; they do not scan stamps."""
    return method == "HEAD" or not user_agent or bool(PREVIEW_AGENTS.search(user_agent))


def client_fingerprint(secret: str, address: str) -> str:
    """A salted hash of the client address: linkable within our log, not reversible."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def record_scan(
    session: Session,
    facts: StampFacts,
    client_hash: str,
    user_agent: str,
    place: Place | None,
    now: datetime | None = None,
) -> int:
    """Log one scan, update the stamp's counters and apply the clone rules; not committed.

    Two Core statements: the ORM's unit of work is only used when a rule fires, which is
    rare. The caller commits once the answer is ready, so a scan whose answer could not be
    built (the database went away meanwhile) is not counted.

    :returns: the new scan's id.
    """
    now = now or utcnow()
    stamp = facts.stamp
    province = place.province if place else None
    scan = Scan(
        stamp_id=stamp.id,  # type: ignore[arg-type]
        scanned_at=now,
        client_hash=client_hash,
        user_agent=user_agent[:200],
        province=province,
        geohash=place.geohash if place else None,
    )
    row = scan.model_dump(exclude={"id"})
    scan.id = session.execute(_INSERT_SCAN, row).scalar_one()
    counted = session.execute(
        _COUNT_SCAN, {"stamp": stamp.id, "now": now, "province": province}
    ).one()
    for name, value in counted._mapping.items():
        set_committed_value(stamp, name, value)
    _apply_rules(session, facts, scan)
    session.flush()
    return scan.id


def locate_scan(session: Session, facts: StampFacts, scan_id: int, place: Place) -> None:
    """Attach a location the consumer agreed to share to their scan, then re-check travel."""
    scan = session.get(Scan, scan_id)
    if scan is None or scan.stamp_id != facts.stamp.id or scan.province is not None:
        return
    scan.province, scan.geohash = place.province, place.geohash
    session.add(scan)
    session.flush()
    _apply_rules(session, facts, scan)
    session.commit()


def _apply_rules(session: Session, facts: StampFacts, scan: Scan) -> None:
    stamp = facts.stamp
    if stamp.first_scan_at is None:
        stamp.first_scan_at = scan.scanned_at
    if stamp.first_scan_province is None and scan.province:
        stamp.first_scan_province = scan.province
    if stamp.status == StampStatus.VOID:
        _flag(session, stamp, FlagRule.VOID_SCAN, {"scan_id": scan.id})
    if stamp.scan_count > facts.product.scan_threshold:
        detail = {"scans": stamp.scan_count, "threshold": facts.product.scan_threshold}
        _flag(session, stamp, FlagRule.SCAN_THRESHOLD, detail)
    travel = _impossible_travel(session, stamp, scan)
    if travel is not None:
        _flag(session, stamp, FlagRule.IMPOSSIBLE_TRAVEL, travel)
    session.add(stamp)


def _impossible_travel(session: Session, stamp: Stamp, scan: Scan) -> dict[str, object] | None:
    here = Place(scan.province, scan.geohash).centre()
    if here is None:
        return None
    statement = (
        select(Scan)
        .where(Scan.stamp_id == stamp.id, Scan.id != scan.id, col(Scan.province).is_not(None))
        .where(col(Scan.scanned_at) >= scan.scanned_at - timedelta(days=2))
        .order_by(col(Scan.scanned_at).desc())
        .limit(20)
    )
    for earlier in session.exec(statement):
        there = Place(earlier.province, earlier.geohash).centre()
        if there is None:
            continue
        km = distance_km(here, there)
        hours = max(abs((scan.scanned_at - earlier.scanned_at).total_seconds()) / 3600, 1 / 60)
        if km >= MIN_TRAVEL_KM and km / hours > MAX_TRAVEL_KMH:
            return {
                "from": earlier.province,
                "to": scan.province,
                "km": round(km),
                "minutes": round(hours * 60),
            }
    return None


def _flag(session: Session, stamp: Stamp, rule: FlagRule, detail: dict[str, object]) -> None:
    stamp.flagged = True
    exists = session.exec(
        select(func.count()).where(StampFlag.stamp_id == stamp.id, StampFlag.rule == rule)
    ).one()
    if not exists:
        session.add(StampFlag(stamp_id=stamp.id, rule=rule, detail=detail))  # type: ignore[arg-type]
        alert_flag_raised(session, stamp.lot_id, stamp.id, stamp.serial, rule, detail)  # type: ignore[arg-type]


def flags_of(session: Session, stamp_id: int) -> list[StampFlag]:
    """The rules that fired for a stamp, oldest first."""
    statement = select(StampFlag).where(StampFlag.stamp_id == stamp_id).order_by(col(StampFlag.id))
    return list(session.exec(statement))

"""What a scan finds and what it counts: the stamp's facts, the scan log, scan places.

A scan is one client's first view of a stamp in the scan window (``SCAN_WINDOW_MINUTES``,
30 by default): later views by the same client (salted address hash) within the window —
a reload, a language switch, the redirect after sharing a province — are not new scans,
are not counted and are not fed to the clone rules (:mod:`stamps.clone_rules`).

The verdict is :mod:`stamps.verdict`'s; ``Verdict`` and ``verdict_of`` are re-exported here
for older callers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from stamps.clone_rules import DEFAULT_LIMITS, CloneLimits, apply_rules, limits_from
from stamps.identity import StampKey
from stamps.mint_runs import published
from stamps.models import CloneThreshold, FlagReview, Scan, ScanPlace, Stamp, StampFlag, StampRun
from stamps.places import Place
from stamps.verdict import Verdict as Verdict
from stamps.verdict import verdict_of as verdict_of
from trace.dashboard.districts import place_district
from trace.models import Lot, Plot, Producer, Product
from trace.models.base import utcnow

#: How long one client's views of a stamp make one scan (the app's default setting).
SCAN_WINDOW = timedelta(minutes=30)
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
    limits: CloneLimits = DEFAULT_LIMITS


_OWN_LIMITS = aliased(CloneThreshold, name="own_limits")
_DEFAULT_LIMITS = aliased(CloneThreshold, name="default_limits")
# Built once: the scan path runs these on every scan, so only the parameters change. The
# clone limits come along (two joins on a tiny table) rather than in a query of their own.
_FIND_STAMP = (
    select(Stamp, Lot, Product, Producer, Plot, _OWN_LIMITS, _DEFAULT_LIMITS)  # type: ignore[call-overload]
    .join(Lot, col(Lot.id) == Stamp.lot_id)
    .join(StampRun, col(StampRun.id) == Stamp.run_id)
    .join(Product, col(Product.id) == Lot.product_id)
    .join(Producer, col(Producer.id) == Lot.producer_id)
    .outerjoin(Plot, col(Plot.id) == Lot.plot_id)
    .outerjoin(_OWN_LIMITS, col(_OWN_LIMITS.product_id) == Product.id)
    .outerjoin(_DEFAULT_LIMITS, col(_DEFAULT_LIMITS.product_id).is_(None))
    .where(Stamp.serial == bindparam("serial"), published())  # not of a run being minted
)
# The client's last counted scan of the stamp inside the window: one index range
# (ix_scans_stamp_client_time) read backwards.
_LAST_SCAN = (
    select(Scan)
    .where(
        Scan.stamp_id == bindparam("stamp"),
        Scan.client_hash == bindparam("client"),
        col(Scan.scanned_at) > bindparam("since"),
    )
    .order_by(col(Scan.scanned_at).desc())
    .limit(1)
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
    if row is None:
        return None
    stamp, lot, product, producer, plot, own, default = row
    return StampFacts(stamp, lot, product, producer, plot, limits_from(own, default))


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
    if method == "HEAD" or not user_agent:
        return True
    if len(user_agent) > _CACHED_AGENT_CHARS:  # searched each time, never kept
        return PREVIEW_AGENTS.search(user_agent) is not None
    return _previewer(user_agent)


#: Agents up to this long are remembered by :func:`_previewer` (phones' are ~100-300): a
#: client sending thousands of distinct 8 KB agents cannot make each worker keep 32 MB.
_CACHED_AGENT_CHARS = 512


@lru_cache(maxsize=4096)
def _previewer(user_agent: str) -> bool:
    """Whether the agent is a link preview or crawler: kept for the agents seen most (a
    province's phones send a few hundred; the search costs ~15 µs a scan, the look-up ~0.1)."""
    return PREVIEW_AGENTS.search(user_agent) is not None


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
    window: timedelta = SCAN_WINDOW,
) -> int:
    """Log a client's view of a stamp as a scan, unless it is a repeat; not committed.

    A repeat (the same client within ``window`` of its last scan of the stamp) writes
    nothing, except that a place it consents to share is attached to that scan if it had
    none. A new scan is two Core statements (insert, counter update); the ORM's unit of
    work is only used when a rule fires, which is rare. The caller commits once the
    answer is ready, so a scan whose answer could not be built is not counted.

    :returns: the id of the scan the view belongs to (new or repeated).
    """
    now = now or utcnow()
    params = {"stamp": facts.stamp.id, "client": client_hash, "since": now - window}
    last = session.exec(_LAST_SCAN, params=params).first()  # type: ignore[call-overload]
    if last is not None:
        if place is not None and last.province is None:
            _locate(session, facts, last, place)
        return last.id  # type: ignore[return-value]  # a stored scan has its id
    return _count_scan(session, facts, client_hash, user_agent, place, now)


def _count_scan(
    session: Session,
    facts: StampFacts,
    client_hash: str,
    user_agent: str,
    place: Place | None,
    now: datetime,
) -> int:
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
    if place is not None:
        _log_place(session, facts, scan, place)
    apply_rules(session, stamp, facts.lot.id, scan, facts.limits)  # type: ignore[arg-type]
    session.flush()
    return scan.id


def locate_scan(session: Session, facts: StampFacts, scan_id: int, place: Place) -> None:
    """Attach a location the consumer agreed to share to their scan, then re-check travel."""
    scan = session.get(Scan, scan_id)
    if scan is None or scan.stamp_id != facts.stamp.id or scan.province is not None:
        return
    _locate(session, facts, scan, place)
    session.commit()


def _locate(session: Session, facts: StampFacts, scan: Scan, place: Place) -> None:
    scan.province, scan.geohash = place.province, place.geohash
    session.add(scan)
    stamp = facts.stamp
    if stamp.first_scan_province is None:  # the first place the stamp was seen at
        stamp.first_scan_province = place.province
        session.add(stamp)
    _log_place(session, facts, scan, place)
    session.flush()
    apply_rules(session, stamp, facts.lot.id, scan, facts.limits)  # type: ignore[arg-type]
    session.flush()


def _log_place(session: Session, facts: StampFacts, scan: Scan, place: Place) -> None:
    """Log where the scan happened, for the dashboard (a scan is located at most once)."""
    session.add(
        ScanPlace(
            scan_id=scan.id,  # type: ignore[arg-type]
            lot_id=facts.lot.id,  # type: ignore[arg-type]
            scanned_at=scan.scanned_at,
            district=place_district(place.province, place.centre() if place.geohash else None),
        )
    )


def flags_of(session: Session, stamp_id: int) -> list[StampFlag]:
    """The flags that hold against a stamp (open or confirmed), oldest first.

    A flag an inspector dismissed no longer counts; :mod:`stamps.flag_review` lists all.
    """
    statement = (
        select(StampFlag)
        .where(StampFlag.stamp_id == stamp_id, StampFlag.review != FlagReview.DISMISSED)
        .order_by(col(StampFlag.id))
    )
    return list(session.exec(statement))

"""The clone rules: when a counted scan makes a stamp SUSPICIOUS, with which limits.

A rule fires on evidence no single client can produce cheaply: more counted scans than
the product's limit (a scan is one client's first view in the scan window), or two
*different* clients at consented places too far apart for the time between them. A flag
an inspector dismissed stops counting; the same rule flags the stamp again only on new
evidence (see :func:`_is_new_evidence`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from stamps.models import CloneThreshold, FlagReview, FlagRule, Scan, Stamp, StampFlag, StampStatus
from stamps.places import Place, distance_km

#: Built-in limits, used where no admin set any (see :func:`limits_from`).
MAX_SCANS = 50
MAX_TRAVEL_KMH = 900.0  # faster than a scheduled flight: two people, or a copied label
MIN_TRAVEL_KM = 50.0
#: How far back a scan is compared with earlier ones for impossible travel.
TRAVEL_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class CloneLimits:
    """The limits the clone rules apply to one product's stamps."""

    max_scans: int = MAX_SCANS
    max_travel_kmh: float = MAX_TRAVEL_KMH
    min_travel_km: float = MIN_TRAVEL_KM


DEFAULT_LIMITS = CloneLimits()
_LIMIT_NAMES = ("max_scans", "max_travel_kmh", "min_travel_km")


def limits_from(product: CloneThreshold | None, default: CloneThreshold | None) -> CloneLimits:
    """Each limit from the product's row, else the province default's, else built in."""
    values: dict[str, Any] = {}
    for name in _LIMIT_NAMES:
        for row in (product, default):
            value = getattr(row, name, None) if row is not None else None
            if value is not None:
                values[name] = value
                break
    return CloneLimits(**values)


def apply_rules(
    session: Session, stamp: Stamp, lot_id: int, scan: Scan, limits: CloneLimits
) -> None:
    """Flag the stamp for every rule the counted (or newly located) ``scan`` breaks."""
    if stamp.status == StampStatus.VOID:
        _flag(session, stamp, lot_id, scan, FlagRule.VOID_SCAN, {"scan_id": scan.id}, limits)
    if stamp.scan_count > limits.max_scans:
        detail = {"scans": stamp.scan_count, "threshold": limits.max_scans}
        _flag(session, stamp, lot_id, scan, FlagRule.SCAN_THRESHOLD, detail, limits)
    travel = impossible_travel(session, scan, limits)
    if travel is not None:
        _flag(session, stamp, lot_id, scan, FlagRule.IMPOSSIBLE_TRAVEL, travel, limits)


def impossible_travel(session: Session, scan: Scan, limits: CloneLimits) -> dict[str, Any] | None:
    """The journey between ``scan`` and a recent scan *by another client* that no label
    could make, or None. Only consented places are ever stored, so both were shared."""
    here = Place(scan.province, scan.geohash).centre()
    if here is None:
        return None
    statement = (
        select(Scan)
        .where(Scan.stamp_id == scan.stamp_id, Scan.id != scan.id)
        .where(Scan.client_hash != scan.client_hash, col(Scan.province).is_not(None))
        .where(col(Scan.scanned_at) >= scan.scanned_at - TRAVEL_LOOKBACK)
        .order_by(col(Scan.scanned_at).desc())
        .limit(20)
    )
    for earlier in session.exec(statement):
        there = Place(earlier.province, earlier.geohash).centre()
        if there is None:
            continue
        km = distance_km(here, there)
        hours = max(abs((scan.scanned_at - earlier.scanned_at).total_seconds()) / 3600, 1 / 60)
        if km >= limits.min_travel_km and km / hours > limits.max_travel_kmh:
            return {
                "from": earlier.province,
                "to": scan.province,
                "km": round(km),
                "minutes": round(hours * 60),
            }
    return None


def _flag(
    session: Session,
    stamp: Stamp,
    lot_id: int,
    scan: Scan,
    rule: FlagRule,
    detail: dict[str, Any],
    limits: CloneLimits,
) -> None:
    latest = session.exec(
        select(StampFlag)
        .where(StampFlag.stamp_id == stamp.id, StampFlag.rule == rule)
        .order_by(col(StampFlag.id).desc())
        .limit(1)
    ).first()
    if latest is not None and not _is_new_evidence(latest, rule, stamp, scan, limits):
        return
    stamp.flagged = True
    session.add(stamp)
    session.add(StampFlag(stamp_id=stamp.id, rule=rule, detail=detail))  # type: ignore[arg-type]
    _alert(session, stamp, lot_id, rule, detail)


def _is_new_evidence(
    latest: StampFlag, rule: FlagRule, stamp: Stamp, scan: Scan, limits: CloneLimits
) -> bool:
    """Whether a rule that fired before may flag the stamp again.

    An open or confirmed flag already says it. After a dismissal, only what happened since
    counts: a scan made after the review, and for the scan count another full limit's worth
    of scans beyond the count the inspector saw.
    """
    if latest.review != FlagReview.DISMISSED or latest.reviewed_at is None:
        return False
    if _naive(scan.scanned_at) <= _naive(latest.reviewed_at):
        return False
    if rule == FlagRule.SCAN_THRESHOLD:
        seen = int(latest.detail.get("scans", 0))
        return stamp.scan_count > seen + limits.max_scans
    return True


def _naive(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; compare both as UTC-naive."""
    return moment.replace(tzinfo=None)


def _alert(
    session: Session, stamp: Stamp, lot_id: int, rule: FlagRule, detail: Mapping[str, Any]
) -> None:
    """Tell inspectors a stamp was flagged (the alerts feed and its webhooks)."""
    from trace.alerts.sources import alert_flag_raised

    session.flush()  # the flag row first: the alert's deliveries are queued beside it
    alert_flag_raised(session, lot_id, stamp.id, stamp.serial, rule, detail)  # type: ignore[arg-type]

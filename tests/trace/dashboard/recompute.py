"""The dashboard's numbers recomputed the slow, obvious way: every row loaded into Python."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from marketplace.models import ListingSync
from stamps.models import Scan, ScanPlace, Stamp, StampFlag, StampRun
from trace.dashboard.districts import district_key
from trace.models import (
    Alert,
    AnchorRound,
    Certification,
    Event,
    Lot,
    LotDocument,
    Producer,
    Product,
)


def local_month(moment: datetime) -> str:
    return (moment + timedelta(hours=7)).strftime("%Y-%m")


def lot_places(session: Session) -> dict[int, tuple[str, str]]:
    """Lot id -> (district key, product category)."""
    rows = session.exec(
        select(Lot.id, Producer.district, Product.category)
        .join(Product, Product.id == Lot.product_id)
        .join(Producer, Producer.id == Lot.producer_id)
    ).all()
    return {lot_id: (district_key(district), category) for lot_id, district, category in rows}


def scans(session: Session) -> list[tuple[str, str, str]]:
    """(local month, district key, category) of every scan."""
    places = lot_places(session)
    stamp_lot = dict(session.exec(select(Stamp.id, Stamp.lot_id)).all())
    return [
        (local_month(scan.scanned_at), *places[stamp_lot[scan.stamp_id]])
        for scan in session.exec(select(Scan)).all()
    ]


def scan_statistics(session: Session, months: set[str]) -> Counter:
    """Scans per (local month, key of the district where scanned) within ``months``: the
    open dataset's cells ("unknown" when the consumer shared no place in a district)."""
    where = dict(session.exec(select(ScanPlace.scan_id, ScanPlace.district)).all())
    counts: Counter = Counter()
    for scan in session.exec(select(Scan)).all():
        month = local_month(scan.scanned_at)
        if month in months:
            counts[(month, where.get(scan.id, "unknown"))] += 1
    return counts


def stamps_per_month(session: Session, keep, months: set[str]) -> Counter:  # type: ignore[no-untyped-def]
    places = lot_places(session)
    counts: Counter = Counter()
    for run in session.exec(select(StampRun)).all():
        if keep(*places[run.lot_id]) and local_month(run.created_at) in months:
            counts[(local_month(run.created_at), "stamps_issued")] += run.count
    for month, district, category in scans(session):
        if keep(district, category) and month in months:
            counts[(month, "scans")] += 1
    return counts


def scans_by_district(session: Session, keep, months: set[str]) -> Counter:  # type: ignore[no-untyped-def]
    """Scans by where they happened (the consumer's shared place), "unknown" without one;
    the filters still pick scans by the product's district and category."""
    places = lot_places(session)
    stamp_lot = dict(session.exec(select(Stamp.id, Stamp.lot_id)).all())
    where = dict(session.exec(select(ScanPlace.scan_id, ScanPlace.district)).all())
    counts: Counter = Counter()
    for scan in session.exec(select(Scan)).all():
        month = local_month(scan.scanned_at)
        if keep(*places[stamp_lot[scan.stamp_id]]) and month in months:
            counts[(where.get(scan.id, "unknown"), "scans")] += 1
    return counts


def open_flags(session: Session, keep) -> Counter:  # type: ignore[no-untyped-def]
    places = lot_places(session)
    stamp_lot = dict(session.exec(select(Stamp.id, Stamp.lot_id)).all())
    counts: Counter = Counter()
    for flag in session.exec(select(StampFlag)).all():
        district, category = places[stamp_lot[flag.stamp_id]]
        if keep(district, category) and flag.review in ("open", "confirmed"):
            counts[(district, flag.review)] += 1
    return counts


def oversight(session: Session, keep, since: datetime) -> Counter:  # type: ignore[no-untyped-def]
    """Recalls, inspections by result, tampered lots and alerts since ``since``, by district."""
    places = lot_places(session)
    counts: Counter = Counter()
    for lot in session.exec(select(Lot)).all():
        for series, at in (("recalls", lot.recalled_at), ("tampered", lot.tampered_at)):
            if at is not None and at >= since and keep(*places[lot.id]):
                counts[(places[lot.id][0], series)] += 1
    events = session.exec(select(Event)).all()
    superseded = {e.supersedes_id for e in events if e.supersedes_id}
    for event in events:
        if event.kind == "inspection" and event.id not in superseded and event.occurred_at >= since:
            if keep(*places[event.lot_id]):
                result = (
                    "inspections_fail" if event.details["result"] == "fail" else "inspections_pass"
                )
                counts[(places[event.lot_id][0], result)] += 1
    for alert in session.exec(select(Alert)).all():
        if alert.created_at >= since:
            district = district_key(alert.district)
            place = places[alert.lot_id] if alert.lot_id else (district, None)
            if keep(*place):
                counts[(district, "alerts")] += 1
    return counts


def suspicious_scans(session: Session, keep, months: set[str]) -> Counter:  # type: ignore[no-untyped-def]
    places = lot_places(session)
    stamp_lot = dict(session.exec(select(Stamp.id, Stamp.lot_id)).all())
    counts: Counter = Counter()
    for flag in session.exec(select(StampFlag)).all():
        month = local_month(flag.created_at)
        if keep(*places[stamp_lot[flag.stamp_id]]) and month in months:
            counts[(month, flag.rule)] += 1
    return counts


def certifications_expiring(session: Session, keep, today: date) -> Counter:  # type: ignore[no-untyped-def]
    producers = {p.id: p for p in session.exec(select(Producer)).all()}
    categories: dict[int, set[str]] = {}
    for product in session.exec(select(Product)).all():
        categories.setdefault(product.producer_id, set()).add(product.category)
    counts: Counter = Counter()
    for cert in session.exec(select(Certification)).all():
        days = (cert.valid_to - today).days
        district = district_key(producers[cert.producer_id].district)
        sells = categories.get(cert.producer_id, set()) or {None}
        if 0 <= days <= 90 and any(keep(district, category) for category in sells):
            window = "30" if days <= 30 else "60" if days <= 60 else "90"
            counts[(window, cert.scheme)] += 1
    return counts


def listings_by_state(session: Session, keep) -> Counter:  # type: ignore[no-untyped-def]
    places = {
        product_id: (district_key(district), category)
        for product_id, district, category in session.exec(
            select(Product.id, Producer.district, Product.category).join(
                Producer, Producer.id == Product.producer_id
            )
        ).all()
    }
    counts: Counter = Counter()
    for listing in session.exec(select(ListingSync)).all():
        if keep(*places[listing.product_id]):
            counts[(listing.state, listing.marketplace)] += 1
    return counts


def anchoring_rounds(session: Session, months: set[str]) -> Counter:
    counts: Counter = Counter()
    for anchor in session.exec(select(AnchorRound)).all():
        if local_month(anchor.created_at) in months:
            counts[(local_month(anchor.created_at), anchor.status)] += 1
    return counts


def pending_lots(session: Session, keep, now: datetime) -> Counter:  # type: ignore[no-untyped-def]
    places = lot_places(session)
    rounds = {r.id: r.status for r in session.exec(select(AnchorRound)).all()}
    oldest: dict[int, datetime] = {}
    for doc in session.exec(select(LotDocument)).all():
        if doc.round_id is None or rounds[doc.round_id] != "confirmed":
            oldest[doc.lot_id] = min(oldest.get(doc.lot_id, doc.created_at), doc.created_at)
    counts: Counter = Counter()
    for lot_id, since in oldest.items():
        if keep(*places[lot_id]):
            waited = now - since
            bucket = (
                "under_1h"
                if waited <= timedelta(hours=1)
                else "1h_to_24h"
                if waited <= timedelta(hours=24)
                else "over_24h"
            )
            counts[(bucket, "lots")] += 1
    return counts

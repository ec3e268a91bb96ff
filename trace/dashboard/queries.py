"""The registry's own charts: certifications about to expire, anchoring rounds, pending lots,
and what inspectors act on (recalls, inspections, tampered lots, alerts) by district."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, union_all
from sqlmodel import Session, col, select

from trace.dashboard.charts import Chart, ChartData, local_month
from trace.dashboard.districts import DISTRICTS, UNKNOWN, district_key
from trace.dashboard.filters import Filters
from trace.i18n import _l
from trace.models import (
    Alert,
    AnchorRound,
    Certification,
    Event,
    EventKind,
    Lot,
    LotDocument,
    Producer,
    RoundStatus,
)
from trace.models.registry import CertificationScheme

SCHEME_LABELS = {
    CertificationScheme.VIETGAP: "VietGAP",
    CertificationScheme.GLOBALGAP: "GlobalG.A.P.",
    CertificationScheme.ORGANIC: _l("Organic"),
    CertificationScheme.OCOP: "OCOP",
}
EXPIRY_WINDOWS = (30, 60, 90)
WAIT_BUCKETS = ("under_1h", "1h_to_24h", "over_24h")


def certifications_expiring(session: Session, filters: Filters) -> ChartData:
    """Valid certifications whose last day falls in the next 90 days, by 30-day window."""
    today = filters.today
    window = case(
        *(
            (col(Certification.valid_to) <= today + timedelta(days=days), f"{days}")
            for days in EXPIRY_WINDOWS[:-1]
        ),
        else_=f"{EXPIRY_WINDOWS[-1]}",
    )
    statement = (
        select(window, Certification.scheme, func.count())
        .where(
            col(Certification.valid_to) >= today,
            col(Certification.valid_to) <= today + timedelta(days=EXPIRY_WINDOWS[-1]),
        )
        .group_by(window, Certification.scheme)
    )
    statement = filters.restrict_producers(statement, col(Certification.producer_id))
    data = ChartData(
        "expires_within_days",
        [str(days) for days in EXPIRY_WINDOWS],
        [(str(scheme), label) for scheme, label in SCHEME_LABELS.items()],
        x_labels={
            "30": _l("within 30 days"),
            "60": _l("in 31–60 days"),
            "90": _l("in 61–90 days"),
        },
    )
    return data.fill(session.exec(statement).all())


def anchoring_rounds(session: Session, filters: Filters) -> ChartData:
    """Anchoring rounds started per month, by status (rounds span districts: not filtered)."""
    month = local_month(AnchorRound.created_at)
    statement = (
        select(month, AnchorRound.status, func.count())
        .where(col(AnchorRound.created_at) >= filters.since)
        .group_by(month, AnchorRound.status)
    )
    data = ChartData(
        "month",
        filters.month_keys,
        [
            (RoundStatus.CONFIRMED, _l("Confirmed on chain")),
            (RoundStatus.PREPARED, _l("Sent, awaiting confirmation")),
            (RoundStatus.FAILED, _l("Failed")),
        ],
    )
    return data.fill(session.exec(statement).all())


def pending_lots(session: Session, filters: Filters) -> ChartData:
    """Lots with a version not yet confirmed on chain, by how long the oldest has waited."""
    oldest = (
        select(LotDocument.lot_id, func.min(LotDocument.created_at).label("since"))
        .outerjoin(AnchorRound, col(AnchorRound.id) == LotDocument.round_id)
        .where(
            or_(
                col(LotDocument.round_id).is_(None),
                col(AnchorRound.status) != RoundStatus.CONFIRMED,
            )
        )
        .group_by(col(LotDocument.lot_id))
    )
    pending = filters.restrict_lots(oldest, col(LotDocument.lot_id)).subquery()
    now = filters.now
    waited = case(
        (pending.c.since >= now - timedelta(hours=1), WAIT_BUCKETS[0]),
        (pending.c.since >= now - timedelta(hours=24), WAIT_BUCKETS[1]),
        else_=WAIT_BUCKETS[2],
    )
    statement = select(waited, func.count()).select_from(pending).group_by(waited)
    data = ChartData(
        "waiting",
        list(WAIT_BUCKETS),
        [("lots", _l("Lots awaiting anchoring"))],
        x_labels={
            WAIT_BUCKETS[0]: _l("under 1 hour"),
            WAIT_BUCKETS[1]: _l("1–24 hours"),
            WAIT_BUCKETS[2]: _l("over a day"),
        },
    )
    return data.fill(session.exec(statement).all(), "lots")


OVERSIGHT_SERIES = ("recalls", "inspections_pass", "inspections_fail", "tampered", "alerts")


def oversight_by_district(session: Session, filters: Filters) -> ChartData:
    """Lots recalled, inspections passed and failed, lots found tampered and alerts raised
    in the period, by the producer's district (one aggregate statement)."""
    data = ChartData(
        "district",
        [district.key for district in DISTRICTS] + [UNKNOWN],
        [
            ("recalls", _l("Lots recalled")),
            ("inspections_pass", _l("Inspections passed")),
            ("inspections_fail", _l("Inspections failed")),
            ("tampered", _l("Lots found tampered")),
            ("alerts", _l("Alerts")),
        ],
        x_labels={district.key: district.name for district in DISTRICTS}
        | {UNKNOWN: _l("Other or unknown")},
    )
    parts = union_all(
        _lots_since(filters, "recalls", col(Lot.recalled_at)),
        _lots_since(filters, "tampered", col(Lot.tampered_at)),
        _inspections(filters),
        _alerts(filters),
    ).subquery()
    statement = select(parts.c.series, parts.c.district, func.sum(parts.c.n)).group_by(
        parts.c.series, parts.c.district
    )
    for series, name, amount in session.exec(statement).all():
        data.add(district_key(name), series, amount)
    return data


def _lots_since(filters: Filters, series: str, at: Any) -> Select[str, str, int]:
    statement = (
        select(literal(series).label("series"), Producer.district, func.count().label("n"))
        .select_from(Lot)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .where(at >= filters.since)
        .group_by(Producer.district)
    )
    return filters.restrict_lots(statement, col(Lot.id))


def _inspections(filters: Filters) -> Select[str, str, int]:
    """Current inspection events (not corrected by a later one), by result."""
    corrected = select(Event.supersedes_id).where(col(Event.supersedes_id).is_not(None))
    result = Event.details["result"].as_string()
    series = case((result == "fail", "inspections_fail"), else_="inspections_pass")
    statement = (
        select(series.label("series"), Producer.district, func.count().label("n"))
        .select_from(Event)
        .join(Producer, col(Producer.id) == Event.producer_id)
        .where(Event.kind == EventKind.INSPECTION, col(Event.occurred_at) >= filters.since)
        .where(col(Event.id).not_in(corrected.scalar_subquery()))
        .group_by(series, Producer.district)
    )
    return filters.restrict_lots(statement, col(Event.lot_id))


def _alerts(filters: Filters) -> Select[str, str | None, int]:
    """Alerts raised in the period, by the district recorded with each (none: province-wide,
    such as a failing anchoring round)."""
    statement = (
        select(literal("alerts").label("series"), Alert.district, func.count().label("n"))
        .where(col(Alert.created_at) >= filters.since)
        .group_by(Alert.district)
    )
    if filters.narrowed:  # an alert about a lot goes by the lot, others by their producer
        lots = filters.restrict_products(select(Lot.id), Lot.product_id)
        producers = filters.restrict_producers(select(Producer.id), col(Producer.id))
        statement = statement.where(
            or_(
                col(Alert.lot_id).in_(lots),
                and_(col(Alert.lot_id).is_(None), col(Alert.producer_id).in_(producers)),
            )
        )
    return statement


CHARTS = (
    Chart(
        "certifications-expiring",
        _l("Certifications expiring in the next 90 days"),
        "bars",
        certifications_expiring,
        40,
        _l("Valid certifications by scheme and by when their validity ends."),
        uses_period=False,
    ),
    Chart(
        "anchoring-rounds",
        _l("Anchoring rounds per month"),
        "bars",
        anchoring_rounds,
        60,
        _l("A round anchors many lots from every district, so the filters do not apply."),
    ),
    Chart(
        "pending-lots",
        _l("Lots awaiting anchoring"),
        "bars",
        pending_lots,
        70,
        _l("Lots whose latest changes are not yet confirmed on the blockchain."),
        uses_period=False,
    ),
    Chart(
        "oversight-by-district",
        _l("Recalls, inspections, tampering and alerts by district"),
        "bars",
        oversight_by_district,
        25,
        _l(
            "In the period: lots recalled, inspections passed and failed, lots whose data "
            "was found changed after anchoring, and alerts raised, by the producer's district."
        ),
    ),
)

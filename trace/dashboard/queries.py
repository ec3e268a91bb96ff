"""The registry's own charts: certifications about to expire, anchoring rounds, pending lots."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from trace.dashboard.charts import Chart, ChartData, local_month
from trace.dashboard.filters import Filters
from trace.i18n import _l
from trace.models import AnchorRound, Certification, LotDocument, RoundStatus
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
    return data.fill(session.exec(statement).all())  # type: ignore[call-overload]


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
    return data.fill(session.exec(statement).all())  # type: ignore[call-overload]


def pending_lots(session: Session, filters: Filters) -> ChartData:
    """Lots with a version not yet confirmed on chain, by how long the oldest has waited."""
    pending = (
        select(LotDocument.lot_id, func.min(LotDocument.created_at).label("since"))
        .outerjoin(AnchorRound, col(AnchorRound.id) == LotDocument.round_id)
        .where(
            or_(
                col(LotDocument.round_id).is_(None),
                col(AnchorRound.status) != RoundStatus.CONFIRMED,
            )
        )
        .group_by(LotDocument.lot_id)
    )
    pending = filters.restrict_lots(pending, col(LotDocument.lot_id)).subquery()
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
    return data.fill(session.exec(statement).all(), "lots")  # type: ignore[call-overload]


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
)

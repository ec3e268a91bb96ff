"""The stamps' charts for the province dashboard and the scan statistics for open data.

Registered by the composition root (``trace`` may not import ``stamps``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from stamps.models import FlagRule, Scan, Stamp, StampFlag, StampRun
from trace.dashboard.charts import Chart, ChartData, local_month
from trace.dashboard.districts import DISTRICTS, UNKNOWN, district_key
from trace.dashboard.filters import Filters, district_counts
from trace.i18n import _l
from trace.models import Lot, Producer

RULE_LABELS = {
    FlagRule.SCAN_THRESHOLD: _l("Too many scans"),
    FlagRule.IMPOSSIBLE_TRAVEL: _l("Impossible travel"),
    FlagRule.VOID_SCAN: _l("Void stamp scanned"),
}


def stamps_per_month(session: Session, filters: Filters) -> ChartData:
    """Stamps minted and consumer scans recorded per month."""
    minted_month = local_month(StampRun.created_at)
    minted = (
        select(minted_month, func.sum(StampRun.count))
        .where(col(StampRun.created_at) >= filters.since)
        .group_by(minted_month)
    )
    minted = filters.restrict_lots(minted, col(StampRun.lot_id))
    data = ChartData(
        "month",
        filters.month_keys,
        [("stamps_issued", _l("Stamps issued")), ("scans", _l("Consumer scans"))],
    )
    data.fill(session.exec(minted).all(), "stamps_issued")  # type: ignore[call-overload]
    return data.fill(_scans_per_month(session, filters), "scans")


def _scans_per_month(session: Session, filters: Filters) -> list[tuple[str, int]]:
    """Scans per month; unfiltered, one index range count per month (no per-row work)."""
    if filters.narrowed:
        month = local_month(Scan.scanned_at)
        statement = _scans_in_scope(select(month, func.count()), filters).group_by(month)
        return list(session.exec(statement).all())  # type: ignore[call-overload]
    counts = [
        select(func.count())
        .select_from(Scan)
        .where(col(Scan.scanned_at) >= start, col(Scan.scanned_at) < end)
        .scalar_subquery()
        for _key, start, end in filters.month_bounds()
    ]
    row = session.exec(select(*counts)).one()  # type: ignore[call-overload]
    return list(zip(filters.month_keys, row, strict=True))


def _scans_in_scope(statement: Select[Any], filters: Filters) -> Select[Any]:
    """Scans in the period of the filtered lots."""
    statement = statement.select_from(Scan).where(col(Scan.scanned_at) >= filters.since)
    statement = statement.join(Stamp, col(Stamp.id) == Scan.stamp_id)
    return filters.restrict_lots(statement, col(Stamp.lot_id))


def _scans_by_lot(filters: Filters, *extra: Any) -> Any:
    """(lot_id, *extra, scans) for the period.

    Unfiltered, scans are counted per stamp first so each scanned stamp is looked up
    once, not once per scan; filtered, the lot restriction prunes scans before grouping.
    """
    if filters.narrowed:
        statement = _scans_in_scope(
            select(col(Stamp.lot_id).label("lot_id"), *extra, func.count().label("scans")),
            filters,
        )
        return statement.group_by(Stamp.lot_id, *extra).subquery()
    per_stamp = (
        select(col(Scan.stamp_id).label("stamp_id"), *extra, func.count().label("scans"))
        .where(col(Scan.scanned_at) >= filters.since)
        .group_by(Scan.stamp_id, *extra)
        .subquery()
    )
    grouped = [per_stamp.c[e.name] for e in extra]
    return (
        select(
            col(Stamp.lot_id).label("lot_id"), *grouped, func.sum(per_stamp.c.scans).label("scans")
        )
        .select_from(per_stamp)
        .join(Stamp, col(Stamp.id) == per_stamp.c.stamp_id)
        .group_by(Stamp.lot_id, *grouped)
        .subquery()
    )


def scans_by_district(session: Session, filters: Filters) -> ChartData:
    """Scans of stamps by the district of the producer who made the product."""
    per_lot = _scans_by_lot(filters)
    statement = (
        select(Producer.district, func.sum(per_lot.c.scans))
        .select_from(per_lot)
        .join(Lot, col(Lot.id) == per_lot.c.lot_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .group_by(Producer.district)
    )
    keys = [district.key for district in DISTRICTS] + [UNKNOWN]
    data = ChartData(
        "district",
        keys,
        [("scans", _l("Consumer scans"))],
        x_labels={district.key: district.name for district in DISTRICTS}
        | {UNKNOWN: _l("Other or unknown")},
    )
    for key, amount in district_counts(session, statement).items():
        data.add(key, "scans", amount)
    return data


def suspicious_scans(session: Session, filters: Filters) -> ChartData:
    """Stamps flagged as suspicious per month, by the rule that fired."""
    month = local_month(StampFlag.created_at)
    statement = select(month, StampFlag.rule, func.count()).where(
        col(StampFlag.created_at) >= filters.since
    )
    if filters.narrowed:
        statement = statement.join(Stamp, col(Stamp.id) == StampFlag.stamp_id)
        statement = filters.restrict_lots(statement, col(Stamp.lot_id))
    statement = statement.group_by(month, StampFlag.rule)
    data = ChartData(
        "month", filters.month_keys, [(str(rule), label) for rule, label in RULE_LABELS.items()]
    )
    return data.fill(session.exec(statement).all())  # type: ignore[call-overload]


def scan_statistics(session: Session, filters: Filters) -> list[tuple[str, str, int]]:
    """(month, district key, scans) for the period, for open data: aggregates only."""
    month = local_month(Scan.scanned_at).label("month")
    per_lot = _scans_by_lot(filters, month)
    statement = (
        select(per_lot.c.month, Producer.district, func.sum(per_lot.c.scans))
        .select_from(per_lot)
        .join(Lot, col(Lot.id) == per_lot.c.lot_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .group_by(per_lot.c.month, Producer.district)
    )
    totals: dict[tuple[str, str], int] = {}
    for month_key, name, amount in session.exec(statement).all():  # type: ignore[call-overload]
        cell = (month_key, district_key(name))
        totals[cell] = totals.get(cell, 0) + int(amount)
    return [(m, d, n) for (m, d), n in sorted(totals.items())]


CHARTS = (
    Chart(
        "stamps-per-month",
        _l("Stamps issued and scanned per month"),
        "lines",
        stamps_per_month,
        10,
        _l("Stamps minted for lots, and every consumer scan of a stamp."),
    ),
    Chart(
        "scans-by-district",
        _l("Scans by district"),
        "tiles",
        scans_by_district,
        20,
        _l(
            "Scans of stamps, counted in the district where the product was made. Each "
            "tile is a district placed roughly where it lies; no boundary map is shipped."
        ),
    ),
    Chart(
        "suspicious-scans",
        _l("Suspicious scans per month, by rule"),
        "bars",
        suspicious_scans,
        30,
        _l("Stamps the clone rules flagged, by the rule that fired."),
    ),
)

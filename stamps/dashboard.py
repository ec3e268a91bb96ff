"""The stamps' charts for the province dashboard and the scan statistics for open data.

Registered by the composition root (``trace`` may not import ``stamps``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from stamps.models import FlagRule, Scan, Stamp, StampFlag, StampRun
from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.districts import DISTRICTS, UNKNOWN, district_key
from trace.dashboard.filters import Filters, district_counts
from trace.dashboard.rollup import RollupSource, tally
from trace.i18n import _l
from trace.models import Lot, Producer

RULE_LABELS = {
    FlagRule.SCAN_THRESHOLD: _l("Too many scans"),
    FlagRule.IMPOSSIBLE_TRAVEL: _l("Impossible travel"),
    FlagRule.VOID_SCAN: _l("Void stamp scanned"),
}


def _stamp_of(log: Any) -> Callable[[Select[Any]], Select[Any]]:
    def joins(statement: Select[Any]) -> Select[Any]:
        return statement.join(Stamp, col(Stamp.id) == log.stamp_id)

    return joins


#: The logs behind the charts, read through rollups (folded by a job; see trace.dashboard).
RUNS = RollupSource(
    "stamp_runs", StampRun, col(StampRun.lot_id), StampRun.created_at, weight=StampRun.count
)
SCANS = RollupSource("scans", Scan, col(Stamp.lot_id), Scan.scanned_at, joins=_stamp_of(Scan))
FLAGS = RollupSource(
    "stamp_flags",
    StampFlag,
    col(Stamp.lot_id),
    StampFlag.created_at,
    bucket=StampFlag.rule,
    joins=_stamp_of(StampFlag),
)


def _per_month(session: Session, source: RollupSource, filters: Filters) -> list[Any]:
    """(month, n) of a log in the filters' period and scope."""
    counted = tally(session, source, filters)
    statement = select(counted.c.month, func.sum(counted.c.n)).group_by(counted.c.month)
    return list(session.exec(statement).all())  # type: ignore[call-overload]


def _with_district(counted: Any, *columns: Any) -> Select[Any]:
    """(*columns, registered district, n) of tallied rows, through each row's lot."""
    return (
        select(*columns, col(Producer.district), func.sum(counted.c.n))
        .select_from(counted)
        .join(Lot, col(Lot.id) == counted.c.lot_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .group_by(*columns, Producer.district)
    )


def stamps_per_month(session: Session, filters: Filters) -> ChartData:
    """Stamps minted and consumer scans recorded per month."""
    data = ChartData(
        "month",
        filters.month_keys,
        [("stamps_issued", _l("Stamps issued")), ("scans", _l("Consumer scans"))],
    )
    data.fill(_per_month(session, RUNS, filters), "stamps_issued")
    return data.fill(_per_month(session, SCANS, filters), "scans")


def scans_by_district(session: Session, filters: Filters) -> ChartData:
    """Scans of stamps by the district of the producer who made the product."""
    statement = _with_district(tally(session, SCANS, filters))
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
    counted = tally(session, FLAGS, filters)
    statement = select(counted.c.month, counted.c.bucket, func.sum(counted.c.n)).group_by(
        counted.c.month, counted.c.bucket
    )
    data = ChartData(
        "month", filters.month_keys, [(str(rule), label) for rule, label in RULE_LABELS.items()]
    )
    return data.fill(session.exec(statement).all())  # type: ignore[call-overload]


def scan_statistics(session: Session, filters: Filters) -> list[tuple[str, str, int]]:
    """(month, district key, scans) for the period, for open data: aggregates only."""
    counted = tally(session, SCANS, filters)
    statement = _with_district(counted, counted.c.month)
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
        rollups=(RUNS, SCANS),
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
        rollups=(SCANS,),
    ),
    Chart(
        "suspicious-scans",
        _l("Suspicious scans per month, by rule"),
        "bars",
        suspicious_scans,
        30,
        _l("Stamps the clone rules flagged, by the rule that fired."),
        rollups=(FLAGS,),
    ),
)

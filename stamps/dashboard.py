"""The stamps' charts for the province dashboard and the scan statistics for open data.

Registered by the composition root (``trace`` may not import ``stamps``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from stamps.hotpath.scan_buffer import SETTLED_AFTER
from stamps.models import FlagReview, FlagRule, Scan, ScanPlace, Stamp, StampFlag, StampRun
from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.districts import DISTRICTS, ELSEWHERE, NOT_SHARED, UNKNOWN, district_key
from trace.dashboard.filters import Filters
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
#: Scans' ids are reserved before their rows are written (stamps.hotpath.scan_buffer).
SCANS = RollupSource(
    "scans",
    Scan,
    col(Stamp.lot_id),
    Scan.scanned_at,
    joins=_stamp_of(Scan),
    settled_after=SETTLED_AFTER,
)
#: Where consenting consumers scanned: one row per located scan, its district as bucket.
SCAN_PLACES = RollupSource(
    "scan_places",
    ScanPlace,
    col(ScanPlace.lot_id),
    ScanPlace.scanned_at,
    bucket=ScanPlace.district,
)
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
    """Scans by the district where they happened, when the consumer shared where they
    were; the rest are "not shared" (never the district where the product was made)."""
    keys = [district.key for district in DISTRICTS] + [ELSEWHERE, NOT_SHARED]
    data = ChartData(
        "district",
        keys,
        [("scans", _l("Consumer scans"))],
        x_labels={district.key: district.name for district in DISTRICTS}
        | {
            ELSEWHERE: _l("Outside these districts"),
            NOT_SHARED: _l("Place not shared"),
        },
    )
    placed = tally(session, SCAN_PLACES, filters)
    located = 0
    statement = select(placed.c.bucket, func.sum(placed.c.n)).group_by(placed.c.bucket)
    for key, amount in session.exec(statement).all():  # type: ignore[call-overload]
        if key != NOT_SHARED:
            data.add(key, "scans", amount)
            located += int(amount)
    scans = tally(session, SCANS, filters)
    total = session.execute(select(func.coalesce(func.sum(scans.c.n), 0))).scalar_one()
    data.add(NOT_SHARED, "scans", int(total) - located)
    return data


def open_flags_by_district(session: Session, filters: Filters) -> ChartData:
    """Flags awaiting an inspector's review, and confirmed ones, by the producer's district."""
    statement = (
        select(col(Producer.district), col(StampFlag.review), func.count())
        .select_from(StampFlag)
        .join(Stamp, col(Stamp.id) == StampFlag.stamp_id)
        .join(Lot, col(Lot.id) == Stamp.lot_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .where(col(StampFlag.review).in_([FlagReview.OPEN, FlagReview.CONFIRMED]))
        .group_by(Producer.district, StampFlag.review)
    )
    statement = filters.restrict_lots(statement, col(Stamp.lot_id))  # type: ignore[arg-type]
    data = ChartData(
        "district",
        [district.key for district in DISTRICTS] + [UNKNOWN],
        [
            (str(FlagReview.OPEN), _l("Awaiting review")),
            (str(FlagReview.CONFIRMED), _l("Confirmed copies")),
        ],
        x_labels={district.key: district.name for district in DISTRICTS}
        | {UNKNOWN: _l("Other or unknown")},
    )
    for name, review, amount in session.exec(statement).all():  # type: ignore[call-overload]
        data.add(district_key(name), str(review), amount)
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
    """(month, district key, scans) for the period, for open data: aggregates only.

    As on the dashboard, scans count in the district where they happened: a district key,
    ``ELSEWHERE`` for a shared place outside the districts, and ``NOT_SHARED`` for scans
    whose consumer shared no place (or only the province); never the producer's district.
    """
    totals: Counter[tuple[str, str]] = Counter()
    # Places before scans: a place is logged after its scan, so none can lack its scan.
    placed = tally(session, SCAN_PLACES, filters)
    by_place = select(placed.c.month, placed.c.bucket, func.sum(placed.c.n)).group_by(
        placed.c.month, placed.c.bucket
    )
    for month, key, amount in session.exec(by_place).all():  # type: ignore[call-overload]
        if key != NOT_SHARED:
            totals[(month, key)] += int(amount)
            totals[(month, NOT_SHARED)] -= int(amount)
    for month, amount in _per_month(session, SCANS, filters):
        totals[(month, NOT_SHARED)] += int(amount)
    return [(m, d, n) for (m, d), n in sorted(totals.items()) if n]


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
            "Scans counted in the district where they happened, when the consumer shared "
            "their location; otherwise under “Place not shared”. Each tile is a district "
            "placed roughly where it lies; no boundary map is shipped."
        ),
        rollups=(SCANS, SCAN_PLACES),
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
    Chart(
        "open-flags",
        _l("Open flags by district"),
        "bars",
        open_flags_by_district,
        35,
        _l(
            "Suspected copies now: flags awaiting an inspector's review and those confirmed, "
            "by the district of the producer. Dismissed flags are not counted."
        ),
        uses_period=False,
    ),
)

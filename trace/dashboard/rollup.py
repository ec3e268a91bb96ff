"""Rollups of append-only logs (scans, flags, stamp runs) for the dashboard, always exact.

A log's rows are folded into ``dashboard_rollup_counts`` (one row per lot, local month and
bucket) up to a watermark id; a chart reads the rollup plus the live tail of rows past
the watermark in one statement, so it sees the same numbers as a count over the raw log
whether the fold ran a second ago, an hour ago or never.

Ids make a safe watermark only if no row with a lower id can still appear. SQLite has
one writer at a time, so every committed id is below any id written later. PostgreSQL
hands out ids before commit, so the fold first waits for the writers in flight (a SHARE
lock, held only while it reads ``max(id)``): every id up to that maximum is then final.
Scans are the exception on both: the scan hot path reserves ids in blocks and writes its
scans in batches (``stamps.hotpath.scan_buffer``), so a scan with a lower id may be written
after one with a higher id; their fold stops at the highest id among scans old enough
(``RollupSource.settled_after``) that every lower id is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Subquery,
    func,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from trace.dashboard.charts import local_month
from trace.dashboard.filters import Filters
from trace.dashboard.models import RollupCount, RollupWatermark
from trace.db import conflict_insert
from trace.models.base import utcnow

log = logging.getLogger(__name__)
#: Log ids folded per transaction: bounds how long a fold holds its write lock.
FOLD_SLICE = 500_000
#: How long a fold waits for a log's writers on PostgreSQL (new writers queue behind it).
LOCK_TIMEOUT = "2s"
LOCK_NOT_AVAILABLE = "55P03"


def _no_joins(statement: Select[Any]) -> Select[Any]:
    return statement


@dataclass(frozen=True)
class RollupSource:
    """An append-only log whose rows the dashboard counts per lot and local month.

    :param name: the key of its rollup rows and watermark.
    :param log: the log's table model; its ``id`` orders the rows.
    :param lot_id: the column naming a row's lot (possibly on a table ``joins`` adds).
    :param at: the timestamp counted in its month (Vietnam time).
    :param bucket: a column whose values are counted apart (e.g. a flag's rule), if any.
    :param weight: a column summed instead of counting rows (e.g. a run's stamp count).
    :param joins: adds the joins from ``log`` to the table of ``lot_id``.
    :param settled_after: for a log whose ids are handed out before their rows are written
        (scans: ``stamps.hotpath.scan_buffer``), how old (by ``at``) a row must be for no
        lower id to appear any more; the fold stops at the highest id of such rows.
    """

    name: str
    log: Any
    lot_id: Any
    at: Any
    bucket: Any = None
    weight: Any = None
    joins: Callable[[Select[Any]], Select[Any]] = field(default=_no_joins)
    settled_after: timedelta | None = None

    @property
    def id(self) -> Any:
        return col(self.log.id)

    def counts(self, *where: Any) -> Select[Any]:
        """(lot_id, month, bucket, n) of the log's rows matching ``where``."""
        month = local_month(self.at)
        groups = [self.lot_id, month]
        bucket = literal_column("''", String)
        if self.bucket is not None:
            bucket = self.bucket
            groups.append(self.bucket)
        amount = func.sum(self.weight) if self.weight is not None else func.count()
        statement = select(
            self.lot_id.label("lot_id"),
            month.label("month"),
            bucket.label("bucket"),
            amount.label("n"),
        ).select_from(self.log)
        return self.joins(statement).where(*where).group_by(*groups)


# --- reading ----------------------------------------------------------------------------


def tally(session: Session, source: RollupSource, filters: Filters) -> Subquery:
    """(lot_id, month, bucket, n) rows of the source in the filters' period and scope.

    The rollup's rows and the tail's counts come from one statement, so a fold committing
    meanwhile can neither hide nor double a row. The watermark read just before is only
    a hint for the planner (the tail starts no earlier); the statement reads its own.
    """
    first = filters.month_keys[0]
    hint = watermark_hint(session, source)
    rows: Select[int, str, str, int] = select(
        col(RollupCount.lot_id).label("lot_id"),
        col(RollupCount.month).label("month"),
        col(RollupCount.bucket).label("bucket"),
        col(RollupCount.total).label("n"),
    )
    rolled = filters.restrict_lots(
        rows.where(col(RollupCount.source) == source.name, col(RollupCount.month) >= first),
        col(RollupCount.lot_id),
    )
    watermark = func.coalesce(_watermark_of(source).scalar_subquery(), 0)
    tail = source.counts(source.id > hint, source.id > watermark, local_month(source.at) >= first)
    return union_all(rolled, filters.restrict_lots(tail, source.lot_id)).subquery(source.name)


def watermark_hint(session: Session, source: RollupSource) -> int:
    """The source's watermark as of now (0 before its first fold); it only ever grows."""
    return int(session.execute(_watermark_of(source)).scalar() or 0)


def _watermark_of(source: RollupSource) -> Select[Any]:
    return select(col(RollupWatermark.last_id)).where(col(RollupWatermark.source) == source.name)


# --- folding ----------------------------------------------------------------------------


def fold(session: Session, source: RollupSource, slice_ids: int = FOLD_SLICE) -> int:
    """Fold the next slice of the log past the watermark into the rollup; commits.

    Safe to run twice and from several workers at once: a slice is claimed by moving the
    watermark from the value read, and only one claimer can move it.

    :returns: how many ids the watermark moved (0 when there was nothing to fold).
    """
    _ensure_watermark(session, source)
    last = int(session.execute(_watermark_of(source)).scalar_one())
    high = _settled_high(session, source)  # commits
    if high is None or high <= last:
        return 0
    upto = min(high, last + slice_ids)
    claimed = session.execute(
        update(RollupWatermark)
        .where(col(RollupWatermark.source) == source.name, col(RollupWatermark.last_id) == last)
        .values(last_id=upto, folded_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()  # another fold took this slice
        return 0
    session.execute(_add_counts(session, source, source.id > last, source.id <= upto))
    session.commit()
    return upto - last


def fold_all(session: Session, sources: list[RollupSource]) -> dict[str, int]:
    """Fold every source up to where it stood when its fold began; commits each slice.

    A slice short of ``FOLD_SLICE`` reached the log's end: rows written meanwhile wait
    for the next run, so steady traffic cannot keep a fold going.

    :returns: how many ids each source's watermark moved.
    """
    moved = {}
    for source in sources:
        moved[source.name] = step = fold(session, source)
        while step == FOLD_SLICE:
            step = fold(session, source)
            moved[source.name] += step
    return moved


def _ensure_watermark(session: Session, source: RollupSource) -> None:
    statement = conflict_insert(session, RollupWatermark).values(source=source.name, last_id=0)
    session.execute(statement.on_conflict_do_nothing(index_elements=["source"]))
    session.commit()


def _settled_high(session: Session, source: RollupSource) -> int | None:
    """The highest id of the log below which no row can still be committed; commits.

    :returns: None when PostgreSQL writers held the log past ``LOCK_TIMEOUT`` (a long
        bulk mint, say): the next fold tries again.
    """
    if session.get_bind().dialect.name == "postgresql":
        table = source.log.__tablename__
        session.execute(select(func.set_config("lock_timeout", LOCK_TIMEOUT, True)))
        try:
            session.connection().exec_driver_sql(f'LOCK TABLE "{table}" IN SHARE MODE')
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            session.rollback()
            log.info("rollup of %s skipped: writers held the table past %s", table, LOCK_TIMEOUT)
            return None
    highest = select(func.max(source.id))
    if source.settled_after is not None:
        # Only rows old enough (past the watermark: the rest is folded) are final.
        folded = func.coalesce(_watermark_of(source).scalar_subquery(), 0)
        highest = highest.where(source.id > folded, source.at < utcnow() - source.settled_after)
    high = session.execute(highest).scalar()
    session.commit()
    return int(high or 0)


def _add_counts(session: Session, source: RollupSource, *where: Any) -> Any:
    """INSERT ... SELECT the counts of the rows matching ``where``, adding to existing ones."""
    counts = source.counts(*where).subquery()
    rows = select(
        literal(source.name, String),
        counts.c.lot_id,
        counts.c.month,
        counts.c.bucket,
        counts.c.n,
    ).where(counts.c.n > 0)
    insert = conflict_insert(session, RollupCount).from_select(
        ["source", "lot_id", "month", "bucket", "total"], rows
    )
    return insert.on_conflict_do_update(
        index_elements=["source", "month", "lot_id", "bucket"],
        set_={"total": RollupCount.total + insert.excluded.total},
    )

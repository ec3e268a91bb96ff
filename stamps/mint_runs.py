"""A run's life while it is minted: written in short chunks, published at once, or discarded.

SQLite has one writer: a million rows in one transaction held the write lock for ~15 s
and every scan (which writes its log row) waited that long. A run is therefore written
in chunks of :data:`CHUNK` rows, each its own transaction, while ``pending_until`` is
set; readers leave pending runs out, and clearing it (one small UPDATE) publishes every
stamp of the run together. The writer renews ``pending_until`` with each chunk; a run
whose lease ran out was abandoned (the process died) and the next mint on its lot
deletes it, chunk by chunk too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, col

from stamps.models import Stamp, StampRun
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models.base import utcnow
from trace.services.changes import mark_lot_changed
from trace.services.lots import lock_lot

#: Rows per transaction: ~60 ms of SQLite's write lock on a laptop (bench/).
CHUNK = 10_000
#: SQLite only: after each chunk the writer rests this share of the chunk's write time.
#: SQLite's lock is not fair: a scan waiting on it retries every 100 ms and, against a
#: writer that takes the lock back at once, met it free only by chance (waits of 3-5 s
#: behind a million-stamp run). Resting half as long as it wrote lets it in on its next try.
REST_SHARE = 0.5
#: How long a pending run stays reserved without a chunk written before it counts as
#: abandoned. Renewed with every chunk, so only a dead writer lets it run out.
LEASE = timedelta(seconds=60)

#: Longest pause between two tries at discarding a failed run while the database is away.
RETRY_PAUSE = 1.0

log = logging.getLogger(__name__)
Inserter = Callable[[Session, int, int, list[str]], None]
_RUNS = StampRun.__table__  # type: ignore[attr-defined]
_STAMPS = Stamp.__table__  # type: ignore[attr-defined]


def lease_end(now: datetime | None = None) -> datetime:
    """When a pending run's lease, taken or renewed now, runs out."""
    return (now or utcnow()) + LEASE


def check_none_pending(session: Session, lot_id: int) -> None:
    """Refuse a second run on a lot while one is being minted (call under the lot's lock).

    :raises ValidationError: on ``count``.
    """
    statement = select(func.count()).where(
        _RUNS.c.lot_id == lot_id, _RUNS.c.pending_until.is_not(None)
    )
    if session.execute(statement).scalar_one():
        raise ValidationError(
            {
                "count": _l(
                    "Stamps are being minted for this lot right now: "
                    "try again when that run is done."
                )
            }
        )


def write_chunks(session: Session, run: StampRun, serials: list[str], insert: Inserter) -> None:
    """Insert the run's serials ``CHUNK`` at a time, committing (and renewing) each chunk.

    :raises ValidationError: the run was discarded meanwhile (its lease had run out).
    """
    run_id: int = run.id  # type: ignore[assignment]
    rest = REST_SHARE if session.get_bind().dialect.name == "sqlite" else 0.0
    for start in range(0, len(serials), CHUNK):
        began = time.perf_counter()
        _renew(session, run_id)
        insert(session, run.lot_id, run_id, serials[start : start + CHUNK])
        session.commit()
        if rest and start + CHUNK < len(serials):
            time.sleep((time.perf_counter() - began) * rest)


def _renew(session: Session, run_id: int) -> None:
    renewed = session.execute(
        update(_RUNS)
        .where(_RUNS.c.id == run_id, _RUNS.c.pending_until.is_not(None))
        .values(pending_until=lease_end())
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        raise ValidationError(
            {"count": _l("Minting was interrupted and the run was cancelled: mint it again.")}
        )


def publish(session: Session, run: StampRun, stamp_root: bytes) -> None:
    """Make every stamp of the run scannable at once, with the lot's new stamp root.

    :raises ValidationError: the lot was recalled while the run was written (the caller
        discards the run).
    """
    lot = lock_lot(session, run.lot_id)
    if lot.recalled_at is not None:
        raise ValidationError(
            {"count": _l("This lot has been recalled: no new stamps can be minted.")}
        )
    _renew(session, run.id)  # type: ignore[arg-type]
    run.pending_until = None
    session.add(run)
    lot.stamp_root = stamp_root.hex()
    lot.stamp_count += run.count
    session.add(lot)
    mark_lot_changed(session, run.lot_id)
    session.commit()


def discard(session: Session, run_id: int) -> None:
    """Delete a pending run and the stamps written for it so far, a chunk at a time.

    A published run is never touched.
    """
    pending = session.execute(
        select(_RUNS.c.lot_id).where(_RUNS.c.id == run_id, _RUNS.c.pending_until.is_not(None))
    ).scalar_one_or_none()
    if pending is None:
        return
    rows = select(_STAMPS.c.id).where(_STAMPS.c.lot_id == pending, _STAMPS.c.run_id == run_id)
    while session.execute(delete(_STAMPS).where(_STAMPS.c.id.in_(rows.limit(CHUNK)))).rowcount:  # type: ignore[attr-defined]
        session.commit()
    session.execute(delete(_RUNS).where(_RUNS.c.id == run_id, _RUNS.c.pending_until.is_not(None)))
    session.commit()


def discard_failed(session: Session, run_id: int, patience: timedelta = LEASE) -> None:
    """Discard a run whose minting failed, waiting out a database that went away.

    Until its lease runs out nobody else may discard the run and its lot takes no new one,
    so a failure that lost the connection (a database restart) would leave the lot blocked
    for that long. The pool reconnects once the database is back, so this tries again
    until then, within ``patience``; past the lease the next mint on the lot discards it.
    The caller re-raises the failure, which says what went wrong.
    """
    try:
        session.rollback()
    except DBAPIError:  # the connection is gone, and the transaction with it
        log.warning("rollback after a failed mint of run %s failed", run_id, exc_info=True)
    deadline = time.monotonic() + patience.total_seconds()
    pause = 0.05
    while True:
        try:
            with Session(session.get_bind()) as fresh:
                discard(fresh, run_id)
            return
        except OperationalError:
            if time.monotonic() + pause > deadline:
                log.error("run %s is left pending until its lease runs out", run_id)
                return
        time.sleep(pause)
        pause = min(pause * 2, RETRY_PAUSE)


def discard_abandoned(
    session: Session, lot_id: int | None = None, now: datetime | None = None
) -> int:
    """Discard pending runs whose lease ran out (their writer died), of one lot or all.

    :returns: how many runs were discarded.
    """
    statement = select(_RUNS.c.id).where(_RUNS.c.pending_until < (now or utcnow()))
    if lot_id is not None:
        statement = statement.where(_RUNS.c.lot_id == lot_id)
    abandoned = list(session.execute(statement).scalars())
    session.commit()
    for run_id in abandoned:
        discard(session, run_id)
    return len(abandoned)


def published() -> ColumnElement[bool]:
    """The condition that leaves out stamps of runs still being minted (join ``StampRun``)."""
    return col(StampRun.pending_until).is_(None)

"""A worker's counted scans, held a few milliseconds and written in batches.

The hot path (:mod:`stamps.hotpath.serve`) does not write each counted scan as it answers
it: it appends the scan to this per-process buffer, and each batch is written in one
transaction that inserts the scans and bumps their stamps' ``scan_count`` and
``first_scan_at`` (PostgreSQL: one statement, :data:`FLUSH`; SQLite: under the host's scan
write lock, :class:`stamps.hotpath.statements.HostWriteLock`). A batch is written when it
holds ``SCAN_WRITE_BATCH`` scans or its oldest scan is ``SCAN_WRITE_DELAY_MS`` old, by a
daemon thread of the worker on a pooled connection of its own (so a quiet worker still
writes), and when the worker exits (``atexit``: gunicorn's graceful stop and restart) or
its engine is disposed (``close_app``). ``SCAN_WRITE_BATCH`` 0 or 1 (the test suite's
default: its tests read scans right after making them, through another app) and an
in-memory SQLite database write each scan directly.

What a scan on the hot path sees:

- Its id is known when it is answered (the consent token names it): ids are reserved in
  blocks, on PostgreSQL from the ``scans`` id sequence (:data:`RESERVE`, one round trip a
  block), on SQLite by raising the table's ``AUTOINCREMENT`` floor (:data:`SQLITE_RESERVE`;
  migration 0021), under which no other insert takes an id. The worker's writing thread
  reserves the next block while half of the current one is left (:data:`RESERVE_AHEAD`):
  a request reserves only when none is ready (its first scan, a quiet worker whose block
  expired, a failed reservation). Ids are therefore not written in id order: one worker's
  scan may be written after another's with a higher id. An id is handed out at most
  :data:`RESERVED_ID_SECONDS` after its block was reserved, so readers that need "no lower
  id can still appear" (the dashboard's rollup) take it only below the ids of scans
  :data:`SETTLED_AFTER` old.
- A view by the client of one of this worker's unwritten scans of the stamp, inside the
  scan window, is a repeat view: the same scan id, nothing counted.
- The clone rules' scan limit counts this worker's unwritten scans of the stamp, and the
  page shows the count and first scan time the direct write would have returned.
- A request the full Flask view answers (a fall-through, a consent POST, a session) first
  waits for this worker's unwritten scans to be written: the view reads the database.

Guarantees:

- A scan answered is logged at most once. Its id is fixed before the answer; the batch
  statement inserts with ``ON CONFLICT (id) DO NOTHING`` and counts only the rows it
  inserted, in one transaction: a batch whose commit's outcome is unknown (a connection
  dropped) is retried as it is, and never counted twice.
- A batch that fails stays in the buffer and is retried with backoff (0.05 s, doubling
  to 5 s). If the buffer holds :data:`MAX_PENDING` scans (the database unreachable for a
  while) the hot path stops buffering and hands each new scan to the full view, which
  writes it directly (or fails, visibly); nothing is dropped without a log line.
- A worker killed outright (SIGKILL, the OOM killer, a power cut) loses the scans it
  answered and had not written: those of the last ``SCAN_WRITE_DELAY_MS`` (20 ms) and of
  the batch being written (~1-2 ms), about ``SCAN_WRITE_BATCH`` (64) at most unless writes
  were already failing (then up to :data:`MAX_PENDING`, each failure logged). Each lost
  scan is lost whole (row and count together); none is counted twice. A graceful stop
  (SIGTERM, SIGINT, SIGQUIT, SIGHUP's restart: ``atexit``) writes them first.
- Scans reach other readers (the dashboard, another worker's dedup) up to
  ``SCAN_WRITE_DELAY_MS`` later: a client's reload landing on another worker inside that
  time counts as a new scan (as two simultaneous first views did before). A consent POST
  on another worker waits (up to :data:`CONSENT_WAIT_SECONDS`) for the scan's row.
- On PostgreSQL the batch's commit does not wait for the disk unless
  ``SCAN_DURABLE_COMMIT`` is set (:data:`stamps.hotpath.statements.RECORD_SCAN_ASYNC` says
  what a server crash loses); SQLite commits as every writer does (WAL,
  ``synchronous=NORMAL``: ``trace.db``).
- On SQLite a worker answers a counted scan without taking the database's write lock:
  one transaction a batch replaces one a scan (the scan row, its index entries, the
  stamp's count, their WAL frames), and no request waits for another worker's write.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine, event

from stamps.hotpath.statements import ADD_SCANS, BUFFERED_SCAN, HostWriteLock, Prebuilt

log = logging.getLogger(__name__)
#: Scans a worker holds at most; past it the hot path hands new scans to the full view.
MAX_PENDING = 10_000
#: Scans written by one statement at most (a backlog after an outage takes several).
MAX_FLUSH = 1_000
#: How long a consent POST waits for its scan's row (written by another worker).
CONSENT_WAIT_SECONDS = 2.0
#: SQLite: the page cache of a worker's scan writer, in KiB.
WRITER_CACHE_KB = 2048
#: Seconds a reserved scan id may be handed out: later, the rest of its block is left
#: unused and another reserved. With writes due within ``SCAN_WRITE_DELAY_MS``, every id
#: at or below that of a scan answered ``SETTLED_AFTER`` ago is written (or lost with
#: its worker): what the dashboard's rollup of scans waits for (trace.dashboard.rollup).
RESERVED_ID_SECONDS = 10.0
#: How old a scan must be for every scan id at or below its own to be final.
SETTLED_AFTER = timedelta(minutes=2)
#: Scan ids reserved at a time (those unused when the worker stops are never used).
RESERVE_BLOCK = 128
#: When a worker has this many reserved ids left, its writing thread reserves the next
#: block, so a request seldom reserves itself (on SQLite that waits for the host's scan
#: write lock, behind another worker's batch: the factor-10 scan page's p99 went from
#: 31-38 ms to 24-26 ms when requests never reserved).
RESERVE_AHEAD = RESERVE_BLOCK // 2
#: Seconds the writing thread waits before reserving ahead again after a failure.
RESERVE_RETRY_SECONDS = 1.0
#: Reserves ``%(n)s`` ids of the ``scans`` sequence: ids the buffer's scans are given.
RESERVE = "SELECT nextval(pg_get_serial_sequence('scans', 'id')) FROM generate_series(1, %s)"
#: Writes a batch: inserts its scans (those not written by an earlier try) and adds to
#: their stamps' counts what it inserted; the stamps are updated in id order (two
#: workers' batches then never wait on each other in a cycle). The arrays go in binary
#: (``%(…)b``): psycopg dumps text arrays in Python, quoting each element (12 µs of the
#: writing thread a scan; 4 µs in binary).
FLUSH = """
WITH batch AS (
    SELECT * FROM unnest(%(ids)b::int[], %(stamps)b::int[], %(times)b::timestamptz[],
                         %(clients)b::text[], %(agents)b::text[])
        AS b(id, stamp_id, scanned_at, client_hash, user_agent)
), inserted AS (
    INSERT INTO scans (id, stamp_id, scanned_at, client_hash, user_agent)
    SELECT id, stamp_id, scanned_at, client_hash, user_agent FROM batch
    ON CONFLICT (id) DO NOTHING
    RETURNING stamp_id, scanned_at
), counted AS (
    UPDATE stamps s
    SET scan_count = s.scan_count + c.n, first_scan_at = coalesce(s.first_scan_at, c.first)
    FROM (SELECT stamp_id, count(*) AS n, min(scanned_at) AS first
          FROM inserted GROUP BY stamp_id ORDER BY stamp_id) c
    WHERE s.id = c.stamp_id
    RETURNING s.id
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM counted)"""
_ASYNC = ", set_config('synchronous_commit', 'off', true)"
#: SQLite: the ``scans`` row of ``sqlite_sequence`` (made when the table never had one).
SQLITE_SEQUENCE_ROW = (
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'scans', "
    "(SELECT coalesce(max(id), 0) FROM scans) "
    "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'scans')"
)
#: SQLite: reserves the ``?`` ids above the floor (no later insert takes an id at or below it).
SQLITE_RESERVE = "UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'scans' RETURNING seq"
_buffers: weakref.WeakSet[ScanBuffer] = weakref.WeakSet()


class Pending(NamedTuple):
    """A counted scan not written yet."""

    id: int
    stamp_id: int
    scanned_at: datetime
    client_hash: str
    user_agent: str
    added: float  # time.monotonic() when it was answered


class PostgresWrites:
    """How a batch is written on PostgreSQL: ids from the sequence, one statement a batch."""

    def __init__(self, durable: bool) -> None:
        self.sql = FLUSH if durable else FLUSH + _ASYNC

    def reserve(self, cursor: Any, count: int) -> list[int]:
        cursor.execute(RESERVE, (count,))
        return [int(row[0]) for row in cursor.fetchall()]

    def connect(self, engine: Engine) -> Any:
        conn: Any = engine.raw_connection()
        conn.driver_connection.autocommit = True
        return conn

    def write(self, conn: Any, scans: list[Pending]) -> tuple[int, int]:
        cursor = conn.cursor()
        cursor.execute(self.sql, _columns(scans))
        inserted, counted = cursor.fetchone()[:2]
        return int(inserted), int(counted)

    def is_data_error(self, error: Exception) -> bool:
        """Whether retrying cannot help (a constraint the batch breaks), unlike a lost link."""
        import psycopg

        cause = getattr(error, "orig", error)
        return isinstance(cause, psycopg.errors.IntegrityError | psycopg.errors.DataError)


class SqliteWrites:
    """How a batch is written on SQLite: ids reserved by raising the ``AUTOINCREMENT`` floor,
    and each batch one transaction under the host's scan write lock (the hot path's other
    writers queue there too), its scans inserted ``OR IGNORE`` (a batch tried again counts
    only what it inserts) and each stamp's count raised once."""

    def __init__(self, engine: Engine, lock: HostWriteLock) -> None:
        self.lock = lock
        self.insert = Prebuilt(BUFFERED_SCAN, engine)
        self.add = Prebuilt(ADD_SCANS, engine)

    def reserve(self, cursor: Any, count: int) -> list[int]:
        conn = cursor.connection  # the request's: it holds no write of its own here
        with self.lock.held():
            try:
                cursor.execute(SQLITE_SEQUENCE_ROW)
                cursor.execute(SQLITE_RESERVE, (count,))
                ((top,),) = cursor.fetchall()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        return list(range(top - count + 1, top + 1))

    def connect(self, engine: Engine) -> Any:
        conn: Any = engine.raw_connection()
        # Its own page cache small (SQLite keeps one per connection; the pool's default is
        # 32 MB, which a writer of random index pages fills in minutes): the worker's memory.
        conn.driver_connection.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KB}")
        return conn

    def write(self, conn: Any, scans: list[Pending]) -> tuple[int, int]:
        cursor = conn.cursor()
        added: dict[int, tuple[int, datetime]] = {}
        with self.lock.held():
            try:
                for scan in scans:
                    cursor.execute(self.insert.sql, self.insert.params(scan._asdict()))
                    if cursor.rowcount == 1:
                        n, first = added.get(scan.stamp_id, (0, scan.scanned_at))
                        added[scan.stamp_id] = (n + 1, min(first, scan.scanned_at))
                counts = [
                    self.add.params({"stamp": stamp, "n": n, "first": first})
                    for stamp, (n, first) in sorted(added.items())
                ]
                cursor.executemany(self.add.sql, counts)
                counted = cursor.rowcount if counts else 0
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        return sum(n for n, _ in added.values()), counted

    def is_data_error(self, error: Exception) -> bool:
        import sqlite3

        return isinstance(getattr(error, "orig", error), sqlite3.IntegrityError)


def reserves_ids(engine: Engine) -> bool:
    """Whether scan ids can be reserved ahead of their rows: always on PostgreSQL; on SQLite
    once ``scans`` is ``AUTOINCREMENT`` (migration 0021: a database not migrated yet has
    the hot path write each scan directly, as before)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'scans'"
        ).scalar()
    return "AUTOINCREMENT" in (sql or "").upper()


class ScanBuffer:
    """One process's unwritten scans, its reserved scan ids and the thread that writes them.

    :param batch: write when this many scans wait (``SCAN_WRITE_BATCH``).
    :param delay: seconds a scan waits at most before its batch is due.
    :param durable: PostgreSQL: wait for each batch's commit to reach the disk.
    :param lock: SQLite: the host's scan write lock (required there).
    """

    def __init__(
        self,
        engine: Engine,
        batch: int,
        delay: float,
        durable: bool = False,
        lock: HostWriteLock | None = None,
    ) -> None:
        self.engine = engine
        self.batch = batch
        self.delay = delay
        self.writes: PostgresWrites | SqliteWrites
        if engine.dialect.name == "postgresql":
            self.writes = PostgresWrites(durable)
        elif lock is not None:
            self.writes = SqliteWrites(engine, lock)
        else:
            raise ValueError("SQLite's scan buffer needs the host's scan write lock")
        self.max_pending = MAX_PENDING
        self.epoch = 0  # batches written so far
        self.written = 0  # scans written so far
        self._reset()
        _buffers.add(self)
        event.listen(engine, "engine_disposed", self._on_dispose)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._due = threading.Condition(self._lock)
        self._flushing = threading.Lock()
        self._pending: list[Pending] = []
        self._by_stamp: dict[int, list[Pending]] = {}
        self._recent: deque[tuple[int, list[Pending]]] = deque(maxlen=16)
        self._ids: deque[int] = deque()
        self._ids_reserved = 0.0  # time.monotonic() when ``_ids`` were reserved
        self._next_ids: deque[int] = deque()  # reserved ahead by the writing thread
        self._next_reserved = 0.0
        self._want_ids = False  # the writing thread is asked to reserve ahead
        self._reserve_failed = -RESERVE_RETRY_SECONDS  # time.monotonic() of the last failure
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._stopping = False
        self._full = False

    def __len__(self) -> int:
        return len(self._pending)

    def holds(self, stamp_id: int | None) -> bool:
        """Whether a scan of ``stamp_id`` (of any stamp, for None) waits to be written."""
        return bool(self._pending) if stamp_id is None else stamp_id in self._by_stamp

    def record(
        self,
        cursor: Any,
        stamp: dict[str, Any],
        client_hash: str,
        user_agent: str,
        now: datetime,
        since: datetime,
        epoch: int,
        could_fire: Callable[[Mapping[str, Any]], bool],
    ) -> int | None:
        """Count a client's view of ``stamp`` (the hot path's row, read when ``epoch``
        batches had been written) as a scan to write, unless it is a repeat view (of a
        written scan: ``stamp["last_scan_id"]``, or of one waiting here).

        ``stamp``'s ``scan_count`` and ``first_scan_at`` become what the view leaves, as if
        this worker's scans were written (:meth:`show`).

        :param cursor: reserves a block of scan ids on it when the last one is used.
        :param since: the scan window's start (a later scan by the client is a repeat).
        :param could_fire: whether the clone rules could fire, given ``stamp`` counting
            this worker's unwritten scans of it (:func:`stamps.scan_service.count_prebuilt_scan`).
        :returns: the scan's id (new or repeated), or None: the full view must count it
            (the rules could fire, or the buffer is full).
        """
        mine = self.show(stamp, epoch)
        if mine is None:  # more batches written while the row was read than are kept
            return None
        if stamp["last_scan_id"] is not None:
            return int(stamp["last_scan_id"])
        repeat = _scan_by(mine, client_hash, since)
        if repeat is not None:
            return repeat
        if could_fire(stamp):
            return None
        scan_id = self._take_id(cursor)
        with self._lock:
            # Another thread of this worker may have counted the client's view meanwhile.
            repeat = _scan_by(self._by_stamp.get(stamp["stamp_id"], ()), client_hash, since)
            if repeat is not None or self._overflowing():
                # ``scan_id`` is left unused: given back, it could be handed out after its
                # block's time (another thread may have reserved a new block meanwhile).
                return repeat
            added = time.monotonic()
            scan = Pending(scan_id, stamp["stamp_id"], now, client_hash, user_agent[:200], added)
            self._pending.append(scan)
            self._by_stamp.setdefault(scan.stamp_id, []).append(scan)
            if len(self._pending) in (1, self.batch):  # a batch begun (its delay runs), or full
                self._due.notify()
        stamp["scan_count"] += 1
        stamp["first_scan_at"] = stamp["first_scan_at"] or now
        self._start()
        return scan_id

    def show(self, stamp: dict[str, Any], epoch: int) -> list[Pending] | None:
        """Add to ``stamp``'s count and first scan time this worker's scans of it that its
        row (read when ``epoch`` batches had been written) may lack.

        :returns: those scans, or None if too many batches were written meanwhile to tell.
        """
        with self._lock:
            mine = self._unwritten(stamp["stamp_id"], epoch)
        if mine:
            stamp["scan_count"] += len(mine)
            if stamp["first_scan_at"] is None:
                stamp["first_scan_at"] = min(scan.scanned_at for scan in mine)
        return mine

    def _unwritten(self, stamp_id: int, epoch: int) -> list[Pending] | None:
        """This worker's scans of the stamp that a row read after ``epoch`` batches may miss:
        those waiting, and those of batches written since (counted again if the read saw
        them: a count one batch high for an instant, never one too low)."""
        mine = list(self._by_stamp.get(stamp_id, ()))
        if epoch < self.epoch:
            if not self._recent or self._recent[0][0] > epoch:
                return None
            for written, scans in self._recent:
                if written >= epoch:
                    mine.extend(s for s in scans if s.stamp_id == stamp_id)
        return mine

    def _overflowing(self) -> bool:
        full = len(self._pending) >= self.max_pending
        if full and not self._full:
            log.error("%d scans wait to be written: new scans go to the full view", len(self))
        self._full = full
        return full

    def _take_id(self, cursor: Any) -> int:
        with self._lock:
            now = time.monotonic()
            if not self._usable(now):  # the block reserved ahead, if any, takes its place
                self._ids, self._ids_reserved = self._next_ids, self._next_reserved
                self._next_ids = deque()
            if self._usable(now):
                if (
                    len(self._ids) <= RESERVE_AHEAD
                    and not self._next_ids
                    and not self._want_ids
                    and now - self._reserve_failed >= RESERVE_RETRY_SECONDS
                ):
                    self._want_ids = True
                    self._due.notify()
                return self._ids.popleft()
        # None ready (the first scan, a quiet worker's expired block, a failed reservation):
        # this request reserves.
        ids = self.writes.reserve(cursor, RESERVE_BLOCK)
        with self._lock:
            self._ids = deque(ids[1:])  # older ones left unused: they are no longer final
            self._ids_reserved = time.monotonic()
        return ids[0]

    # --- writing ---------------------------------------------------------------------

    def flush(self) -> bool:
        """Write what waits, a batch at a time; False if a batch failed (it stays)."""
        with self._flushing:
            while self._pending:
                if not self._write(self._pending[:MAX_FLUSH]):
                    return False
        return True

    def _write(self, scans: list[Pending]) -> bool:
        try:
            inserted, counted = self._execute(scans)
        except Exception as error:  # noqa: BLE001 - kept and retried: nothing is lost
            self._drop_connection()
            if self.writes.is_data_error(error):  # e.g. a stamp deleted: one scan at a time
                return self._write_singly(scans)
            log.warning("writing %d scans failed (kept, retried): %s", len(scans), error)
            return False
        if inserted < len(scans):  # the rest were written by a try whose outcome was lost
            log.warning("%d of %d scans were written already", len(scans) - inserted, len(scans))
        self._written(scans)
        return True

    def _write_singly(self, scans: list[Pending]) -> bool:
        for scan in scans:
            try:
                self._execute([scan])
            except Exception as error:  # noqa: BLE001 - logged; the rest are written
                self._drop_connection()
                if not self.writes.is_data_error(error):
                    return False
                log.error("scan %s of stamp %s cannot be written: %s", *scan[:2], error)
            self._written([scan])
        return True

    def _execute(self, scans: list[Pending]) -> tuple[int, int]:
        """Write ``scans``: how many were inserted, how many stamps' counts were raised."""
        return self.writes.write(self._connection(), scans)

    def _written(self, scans: list[Pending]) -> None:
        done = {scan.id for scan in scans}
        with self._lock:
            self._pending = [s for s in self._pending if s.id not in done]
            for scan in scans:
                left = [s for s in self._by_stamp.get(scan.stamp_id, ()) if s.id not in done]
                if left:
                    self._by_stamp[scan.stamp_id] = left
                else:
                    self._by_stamp.pop(scan.stamp_id, None)
            self._recent.append((self.epoch, scans))
            self.epoch += 1
            self.written += len(scans)

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.writes.connect(self.engine)
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass

    # --- the writing thread and shutdown --------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(
                        target=self._run, name="scan-writer", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        backoff = 0.05
        while True:
            with self._lock:
                while not self._stopping and not self._want_ids and (wait := self._wait()) > 0:
                    self._due.wait(wait)
                if self._stopping:
                    return
                reserve, due = self._want_ids, self._wait() <= 0
            if reserve:
                self._reserve_ahead()
            if not due:
                continue
            if self.flush():
                backoff = 0.05
            else:
                with self._lock:
                    self._due.wait_for(lambda: self._stopping, backoff)
                backoff = min(backoff * 2, 5.0)

    def _usable(self, now: float) -> bool:
        """Whether the current block has ids still young enough to hand out (held lock)."""
        return bool(self._ids) and now - self._ids_reserved < RESERVED_ID_SECONDS

    def _reserve_ahead(self) -> None:
        """Reserve the next block of scan ids on the writer's connection (between batches)."""
        with self._flushing:  # the writer's connection: no batch is using it
            try:
                ids = self.writes.reserve(self._connection().cursor(), RESERVE_BLOCK)
            except Exception as error:  # noqa: BLE001 - requests reserve themselves meanwhile
                self._drop_connection()
                log.warning("reserving scan ids ahead failed: %s", error)
                with self._lock:
                    self._want_ids = False
                    self._reserve_failed = time.monotonic()
                return
        with self._lock:
            self._next_ids, self._next_reserved = deque(ids), time.monotonic()
            self._want_ids = False

    def _wait(self) -> float:
        """Seconds until the next batch is due (held lock)."""
        if not self._pending:
            return 3600.0
        if len(self._pending) >= self.batch:
            return 0.0
        return self._pending[0].added + self.delay - time.monotonic()

    def close(self, final: bool = True) -> None:
        """Write what waits and give the connection back (``final``: for good, at exit)."""
        with self._lock:
            self._stopping = True
            self._due.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        if self._pending and not self.flush():
            log.error("%d scans could not be written", len(self))
        with self._flushing:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # closed, not pooled: the pool may be going away
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass
        with self._lock:
            self._stopping = final
        if self._pending and not final:
            self._start()

    def _on_dispose(self, _engine: Engine) -> None:
        """``close_app`` (or a worker's fresh pool): write now, on a new connection later."""
        self.close(final=False)


def _scan_by(scans: Iterable[Pending], client_hash: str, since: datetime) -> int | None:
    """The id of the client's scan among ``scans`` made after ``since``, if there is one."""
    return next(
        (s.id for s in scans if s.client_hash == client_hash and s.scanned_at > since), None
    )


def _columns(scans: Iterable[Pending]) -> dict[str, list[Any]]:
    ids, stamps, times, clients, agents, _ = zip(*scans, strict=True)
    return {
        "ids": list(ids),
        "stamps": list(stamps),
        "times": list(times),
        "clients": list(clients),
        "agents": list(agents),
    }


def _flush_all() -> None:
    for buffer in list(_buffers):
        buffer.close(final=True)


def _forget_after_fork() -> None:
    """A forked worker starts empty: the parent writes its own scans, and its reserved ids
    and connection are the parent's (kept referenced: closing them would end the
    parent's session)."""
    for buffer in list(_buffers):
        _inherited.append(buffer._conn)
        buffer._reset()


_inherited: list[Any] = []
atexit.register(_flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)

"""The scan's statements, compiled once per dialect and run on a DBAPI connection (no ORM).

A :class:`Prebuilt` statement is SQLAlchemy Core compiled once for the engine's dialect;
running it hands the driver the SQL text and the parameters, converted by the same bind and
result processors SQLAlchemy would use (SQLite stores timestamps as text, for instance), so
the values equal what the ORM path reads: the story cache's keys match on both paths. On
PostgreSQL a connection in autocommit runs them as the server's prepared statements
through libpq (:class:`Libpq`), with psycopg's adapters but not its cursor.
"""

from __future__ import annotations

import copy
import fcntl
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, bindparam, case, event, func, insert, select, update
from sqlalchemy.sql import Executable, Select

from stamps.mint_runs import published
from stamps.models import Scan, Stamp, StampRun, VerifiedStory
from trace.models import Lot, Plot, Producer, Product

#: ``psycopg.pq.DiagnosticField.SQLSTATE``
_SQLSTATE = 67  # ord("C")
_STAMP = Stamp.__table__  # type: ignore[attr-defined]
_LOT = Lot.__table__  # type: ignore[attr-defined]
_PRODUCT = Product.__table__  # type: ignore[attr-defined]
_PRODUCER = Producer.__table__  # type: ignore[attr-defined]
_PLOT = Plot.__table__  # type: ignore[attr-defined]
_RUN = StampRun.__table__  # type: ignore[attr-defined]
_SCANS = Scan.__table__  # type: ignore[attr-defined]
#: The client's last counted scan of the stamp inside the scan window (as in scanning).
LAST_SCAN = (
    select(_SCANS.c.id)
    .where(
        _SCANS.c.stamp_id == _STAMP.c.id,
        _SCANS.c.client_hash == bindparam("client"),
        _SCANS.c.scanned_at > bindparam("since", type_=_SCANS.c.scanned_at.type),
    )
    .order_by(_SCANS.c.scanned_at.desc())
    .limit(1)
    .scalar_subquery()
)
#: The story version's figures (:data:`stamps.report.STORY_VERSION`), as the find
#: statement's last columns.
VERSION_COLUMNS = ("story_version_lot", "story_version_producer")


def published_stamp(*columns: Any) -> Select[Any]:
    """``columns`` of the published stamp with the serial ``:serial`` (not of a run being
    minted), its lot, run, product and producer joined, and the lot's story version as the
    last columns (:data:`VERSION_COLUMNS`): the hot path's and the lean API's find."""
    version = (_LOT.c.story_version, _PRODUCER.c.story_version)  # report.STORY_VERSION
    labelled = (figure.label(name) for figure, name in zip(version, VERSION_COLUMNS, strict=True))
    return (
        select(*columns, *labelled)
        .select_from(_STAMP)
        .join(_LOT, _LOT.c.id == _STAMP.c.lot_id)
        .join(_RUN, _RUN.c.id == _STAMP.c.run_id)
        .join(_PRODUCT, _PRODUCT.c.id == _LOT.c.product_id)
        .join(_PRODUCER, _PRODUCER.c.id == _LOT.c.producer_id)
        .where(_STAMP.c.serial == bindparam("serial"), published())
    )


_SHARED = VerifiedStory.__table__.alias("shared")  # type: ignore[attr-defined]
#: The lot's shared story row (:data:`stamps.story_share.READ`'s columns, in its order),
#: as the find statements' ``shared_*`` columns: all None when no worker shared one.
SHARED_COLUMNS = (
    "shared_producer_id",
    "shared_version",
    "shared_day",
    "shared_story",
    "shared_mac",
)


def with_shared_story(statement: Select[Any]) -> Select[Any]:
    """``statement`` (of :func:`published_stamp`) with the lot's shared story row as its
    last columns (:data:`SHARED_COLUMNS`), read whole: most scans and verdicts of a large
    province meet a lot the worker does not hold, and a second statement would cost a
    round trip."""
    columns = (_SHARED.c[name.removeprefix("shared_")].label(name) for name in SHARED_COLUMNS)
    return statement.add_columns(*columns).outerjoin(_SHARED, _SHARED.c.lot_id == _LOT.c.id)


def shared_row(row: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The :data:`stamps.story_share.READ` row in a find statement's ``row`` (by name)."""
    return None if row["shared_story"] is None else tuple(row[n] for n in SHARED_COLUMNS)


#: Everything a scan shows of a stamp and its lot, as plain columns, with the lot's story
#: version, the client's last scan of the stamp in the window and the lot's shared story:
#: one round trip.
FIND_STAMP = with_shared_story(
    published_stamp(
        _STAMP.c.id.label("stamp_id"),
        _STAMP.c.serial,
        _STAMP.c.status,
        _STAMP.c.flagged,
        _STAMP.c.scan_count,
        _STAMP.c.first_scan_at,
        _STAMP.c.first_scan_province,
        _LOT.c.id.label("lot_id"),
        _LOT.c.code.label("lot_code"),
        _LOT.c.harvest_date,
        _LOT.c.recalled_at,
        _LOT.c.recall_reason,
        _LOT.c.recall_origin_lot_id,
        _LOT.c.tampered_at,
        _LOT.c.product_id,
        _PRODUCT.c.gtin,
        _PRODUCT.c.name_vi,
        _PRODUCT.c.name_en,
        _PRODUCER.c.id.label("producer_id"),
        _PRODUCER.c.name.label("producer_name"),
        _PRODUCER.c.status.label("producer_status"),
        _PRODUCER.c.commune,
        _PRODUCER.c.district,
        _PRODUCER.c.province,
        _PLOT.c.id.label("plot_id"),
        _PLOT.c.name.label("plot_name"),
        _PLOT.c.latitude,
        _PLOT.c.longitude,
        _PLOT.c.area_ha,
        # The clone rules' limit in force (migration 0023's triggers keep it from
        # clone_thresholds): two fewer relations than joining the product's and the
        # default's rows.
        _PRODUCT.c.scan_limit,
        # A stamp never counted has no scan rows (each row is written with its count): its
        # scans' index is not read (most scans are a stamp's first).
        case((_STAMP.c.scan_count > 0, LAST_SCAN)).label("last_scan_id"),
    ).outerjoin(_PLOT, _PLOT.c.id == _LOT.c.plot_id)
)
_STAMPS = _STAMP
#: A new scan with no place: the hot path leaves scans that share a place to the service.
INSERT_SCAN = (
    insert(_SCANS)
    .values(
        stamp_id=bindparam("stamp", type_=_SCANS.c.stamp_id.type),
        scanned_at=bindparam("now", type_=_SCANS.c.scanned_at.type),
        client_hash=bindparam("client", type_=_SCANS.c.client_hash.type),
        user_agent=bindparam("agent", type_=_SCANS.c.user_agent.type),
    )
    .returning(_SCANS.c.id)
)
#: :data:`stamps.scanning._COUNT_SCAN` for a scan without a place.
COUNT_SCAN = (
    update(_STAMPS)
    .where(_STAMPS.c.id == bindparam("stamp"))
    .values(
        scan_count=_STAMPS.c.scan_count + 1,
        first_scan_at=func.coalesce(
            _STAMPS.c.first_scan_at, bindparam("now", type_=_STAMPS.c.first_scan_at.type)
        ),
    )
    .returning(_STAMPS.c.scan_count, _STAMPS.c.first_scan_at)
)


#: A scan of a worker's batch with the id reserved for it (SQLite: ``OR IGNORE``, so a batch
#: tried again inserts only what the first try did not; :mod:`stamps.hotpath.scan_buffer`).
BUFFERED_SCAN = (
    insert(_SCANS)
    .prefix_with("OR IGNORE", dialect="sqlite")
    .values(
        id=bindparam("id", type_=_SCANS.c.id.type),
        stamp_id=bindparam("stamp_id", type_=_SCANS.c.stamp_id.type),
        scanned_at=bindparam("scanned_at", type_=_SCANS.c.scanned_at.type),
        client_hash=bindparam("client_hash", type_=_SCANS.c.client_hash.type),
        user_agent=bindparam("user_agent", type_=_SCANS.c.user_agent.type),
    )
)
#: A stamp's count raised by ``:n`` scans of a batch, the first of them at ``:first``.
ADD_SCANS = (
    update(_STAMPS)
    .where(_STAMPS.c.id == bindparam("stamp"))
    .values(
        scan_count=_STAMPS.c.scan_count + bindparam("n", type_=_STAMPS.c.scan_count.type),
        first_scan_at=func.coalesce(
            _STAMPS.c.first_scan_at, bindparam("first", type_=_STAMPS.c.first_scan_at.type)
        ),
    )
)
_INSERTED = INSERT_SCAN.cte("inserted")
_COUNTED = COUNT_SCAN.cte("counted")
#: :data:`INSERT_SCAN` and :data:`COUNT_SCAN` as one statement (data-modifying CTEs).
RECORD_SCAN = select(_INSERTED.c.id, _COUNTED.c.scan_count, _COUNTED.c.first_scan_at)
#: :data:`RECORD_SCAN` whose transaction commits without waiting for the WAL to reach the
#: disk (``SET LOCAL synchronous_commit TO off``, for this transaction only): a flush costs
#: 1.5-2.5 ms here, more than the scan itself. A crash of the database server may lose
#: the scans committed in its last ~3 x ``wal_writer_delay`` (0.6 s by default); each is
#: lost whole (the scan and its count together), never written twice. A worker's crash
#: loses nothing it answered.
RECORD_SCAN_ASYNC = RECORD_SCAN.add_columns(
    func.set_config("synchronous_commit", "off", True).label("commit_mode")
)


class Prebuilt:
    """One statement compiled for one dialect, with its parameter and value converters."""

    def __init__(self, statement: Executable, engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)  # type: ignore[attr-defined]
        self.sql = str(compiled)
        self._order: Sequence[str] | None = (
            list(compiled.positiontup) if compiled.positional else None
        )
        #: PostgreSQL: the statement with ``$n`` parameters and their names in that order,
        #: as libpq's prepared statements take it (:class:`Libpq`).
        self.numbered: tuple[bytes, list[str]] | None = None
        if engine.dialect.name == "postgresql":
            dialect = copy.copy(engine.dialect)
            dialect.paramstyle, dialect.positional = "numeric_dollar", True
            numbered = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            self.numbered = (str(numbered).encode(), list(numbered.positiontup))
        self._binds: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type._cached_bind_processor(engine.dialect)
            for bind, name in compiled.bind_names.items()
        }
        self._literals = dict(compiled.params)  # e.g. the 1 in ``scan_count + 1``
        columns = getattr(statement, "selected_columns", None)
        if columns is None:  # INSERT/UPDATE … RETURNING
            columns = statement.returning_column_descriptions  # type: ignore[attr-defined]
            self._types = [c["type"] for c in columns]
        else:
            self._types = [c.type for c in columns]
        self._dialect = engine.dialect
        self._results: list[Callable[[Any], Any] | None] | None = None
        self.names = [c.key for c in columns] if hasattr(columns, "keys") else None

    def params(self, values: Mapping[str, Any], order: Sequence[str] | None = None) -> Any:
        """The driver's parameters for ``values`` (by name), converted as SQLAlchemy would:
        a tuple in ``order`` (by default the compiled statement's, when positional)."""
        converted = {}
        for name, process in self._binds.items():
            value = values[name] if name in values else self._literals[name]
            converted[name] = process(value) if process is not None and value is not None else value
        order = order or self._order
        if order is None:
            return converted
        return tuple(converted[name] for name in order)

    def row(self, cursor: Any) -> tuple[Any, ...] | None:
        """The cursor's next row with SQLAlchemy's result conversions applied."""
        raw = cursor.fetchone()
        if raw is None:
            return None
        return self.converted(raw, [described[1] for described in cursor.description])

    def converted(self, raw: Sequence[Any], type_codes: Sequence[int]) -> tuple[Any, ...]:
        """``raw`` (a row as the driver loaded it, its columns of the driver's ``type_codes``)
        with SQLAlchemy's result conversions applied."""
        if self._results is None:  # the driver's column types are known once it answered
            self._results = [
                kind._cached_result_processor(self._dialect, code)
                for kind, code in zip(self._types, type_codes, strict=True)
            ]
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._results, raw, strict=True)
        )


class Libpq:
    """PostgreSQL: prebuilt statements run as the server's prepared statements straight
    through libpq (``psycopg.pq``), their parameters dumped and their rows loaded by the
    connection's own psycopg adapters (the same Python values as its cursors give).

    psycopg's cursor spends ~60 µs of Python a statement around the same libpq calls
    (query conversion, its prepared-statement bookkeeping, result set-up): measured on the
    scan's find, 167 µs of the worker's CPU through a cursor, 101 µs here. Only for a
    connection in autocommit (each statement its own transaction, as the hot path runs
    them): libpq would not open the transaction psycopg's cursor opens otherwise.
    """

    _OK = (1, 2)  # ExecStatus.COMMAND_OK, TUPLES_OK

    def __init__(self) -> None:
        #: Per connection: its adapters' transformer and the names it has prepared.
        self._state: weakref.WeakKeyDictionary[Any, tuple[Any, dict[Any, bytes]]] = (
            weakref.WeakKeyDictionary()
        )
        self._auto: Any = None  # psycopg's PyFormat.AUTO: dump as psycopg chooses
        self._formats: dict[int, list[Any]] = {}  # [AUTO] * n, by n

    def one(self, conn: Any, statement: Prebuilt, values: Mapping[str, Any]) -> Any:
        """``statement``'s first row on the psycopg connection ``conn``, converted (None when
        there is none)."""
        assert statement.numbered is not None
        sql, order = statement.numbered
        transformer, prepared = self._state.get(conn) or self._start(conn)
        params = statement.params(values, order)
        formats = self._formats.get(len(params))
        if formats is None:
            formats = self._formats[len(params)] = [self._auto] * len(params)
        data = transformer.dump_sequence(params, formats)
        key = (sql, transformer.types)  # a bytes object keeps its hash: cheap
        name = self._name(conn, prepared, key)
        result = conn.pgconn.exec_prepared(name, data, transformer.formats)
        if result.error_field(_SQLSTATE) == b"26000":
            # The server forgot them: psycopg sends DEALLOCATE ALL after a rollback that
            # follows its own prepared statements, a pooler may send DISCARD ALL.
            prepared.clear()
            result = conn.pgconn.exec_prepared(
                self._name(conn, prepared, key), data, transformer.formats
            )
        self._check(conn, result)
        if not result.ntuples:
            return None
        transformer.set_pgresult(result)
        raw = transformer.load_row(0, tuple)
        return statement.converted(raw, [result.ftype(i) for i in range(result.nfields)])

    def _start(self, conn: Any) -> tuple[Any, dict[Any, bytes]]:
        """``conn``'s state, made on its first statement (psycopg imported only then)."""
        from psycopg.adapt import PyFormat, Transformer

        self._auto = PyFormat.AUTO
        state = self._state[conn] = (Transformer(conn), {})
        return state

    def _name(self, conn: Any, prepared: dict[Any, bytes], key: tuple[bytes, Any]) -> bytes:
        """The name ``key`` (the statement and its parameters' types) is prepared under on
        ``conn``, preparing it on the first use."""
        name = prepared.get(key)
        if name is None:
            name = f"agritrace_{len(prepared)}".encode()
            self._check(conn, conn.pgconn.prepare(name, key[0], key[1]))
            prepared[key] = name
        return name

    def _check(self, conn: Any, result: Any) -> None:
        if result.status not in self._OK:
            import psycopg

            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)


#: One for the process: a connection's prepared statements are named once, whoever runs them.
LIBPQ = Libpq()


class _Checkout:
    """A thread's pooled DBAPI connection, given back to the pool when the thread ends.

    A threaded server (``flask serve``, gunicorn's gthread) may run each request on a new
    thread: a connection kept for a thread that is gone would never return, and after
    pool-size requests every request would wait for the pool's timeout.
    """

    __slots__ = ("conn", "cursor", "autocommit", "__weakref__")

    def __init__(self, conn: Any, autocommit: bool = False) -> None:
        self.conn = conn
        self.autocommit = autocommit
        if autocommit:
            conn.driver_connection.autocommit = True
        # One cursor for the thread's requests: a new psycopg cursor a request cost ~18 µs.
        self.cursor = conn.cursor()

    def __del__(self) -> None:
        try:
            if self.autocommit:  # the pool's other users expect transactions
                self.conn.driver_connection.autocommit = False
            self.conn.close()  # back to the pool (rolled back there)
        except Exception:  # noqa: BLE001 - a connection already invalidated or gone
            pass


class HostWriteLock:
    """SQLite: the scan writes of a host's worker processes, one at a time, queued by the kernel.

    Two gunicorn workers writing counted scans to one SQLite file meet on its write lock;
    the one that finds it taken sleeps in SQLite's busy handler (1, 2, 5, 10 ms…) although
    the other holds it for a fraction of a millisecond. Taken first, this lock (``flock``
    on ``<database>.scan-lock``, and a thread lock for the worker's own threads) makes the
    next writer wait exactly as long as the write before it. Measured in-process, two
    processes of counted scans on the factor-1 province: 2,734–2,904 scans/s without it,
    3,451–3,470 with it. SQLite's own lock still guards the data: writers that do not take
    this one (jobs, minting) only wait as they always did.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}.scan-lock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        # Opened in each process: a descriptor inherited across fork is one open file,
        # whose lock would not keep the processes apart.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            self._pid = os.getpid()
        return self._fd


def host_write_lock(engine: Engine) -> HostWriteLock | None:
    """The scan writers' lock for a SQLite file; None for PostgreSQL or an in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return HostWriteLock(database)


class ScanStatements:
    """The hot path's statements for one engine, and one DBAPI connection per thread.

    The connection is checked out of the engine's pool once per thread and kept while the
    thread lives (pool events, such as SQLite's pragmas, have run on it); it goes back to
    the pool when the thread ends; one that fails is invalidated and replaced, and all are
    given back when the engine is disposed (``close_app``).
    """

    def __init__(self, engine: Engine, durable: bool = False) -> None:
        """:param durable: on PostgreSQL, wait for each scan's commit to reach the disk
        (:data:`RECORD_SCAN_ASYNC` says what is at stake otherwise)."""
        self.engine = engine
        self.durable = durable
        self.find = Prebuilt(FIND_STAMP, engine)
        #: Both writes in one statement where the database allows it (PostgreSQL).
        self.record_scan = None
        #: PostgreSQL: each statement its own transaction (no BEGIN and COMMIT round trips:
        #: two of a counted scan's four). The same reads and writes as in one READ
        #: COMMITTED transaction, which took no locks between them either; the scan's
        #: two writes are one statement, so they still commit together.
        self.autocommit = engine.dialect.name == "postgresql"
        #: Elsewhere (SQLite) the insert, then the count, in the hot path's transaction.
        self.insert_scan: Prebuilt | None = None
        self.count_scan: Prebuilt | None = None
        if self.autocommit:
            self.record_scan = Prebuilt(RECORD_SCAN if durable else RECORD_SCAN_ASYNC, engine)
        else:
            self.insert_scan = Prebuilt(INSERT_SCAN, engine)
            self.count_scan = Prebuilt(COUNT_SCAN, engine)
        #: SQLite: taken around each counted scan's write and commit (:class:`HostWriteLock`).
        self.write_lock = host_write_lock(engine)
        self._local = threading.local()
        self._held: weakref.WeakSet[_Checkout] = weakref.WeakSet()
        event.listen(engine, "engine_disposed", self._release)

    def connection(self) -> Any:
        """This thread's pooled DBAPI connection."""
        return self._checkout().conn

    def cursor(self) -> Any:
        """This thread's cursor on :meth:`connection` (each statement's results replace the
        last's: read them before the next)."""
        return self._checkout().cursor

    def _checkout(self) -> _Checkout:
        checkout = getattr(self._local, "checkout", None)
        if checkout is None:
            raw = self.engine.raw_connection()
            checkout = self._local.checkout = _Checkout(raw, self.autocommit)
            self._held.add(checkout)
        return checkout  # type: ignore[no-any-return]

    def _release(self, _engine: Engine) -> None:
        for checkout in list(self._held):
            try:
                checkout.conn.invalidate()  # closes the driver's connection: its pool is gone
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass
        self._held = weakref.WeakSet()
        self._local = threading.local()

    def discard(self) -> None:
        """Forget this thread's connection after an error (the next call opens another)."""
        checkout = getattr(self._local, "checkout", None)
        self._local.checkout = None
        if checkout is not None:
            self._held.discard(checkout)
            try:
                checkout.conn.invalidate()
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass

    def one(self, cursor: Any, statement: Prebuilt, values: Mapping[str, Any]) -> Any:
        """Run ``statement`` and return its first row, converted (None when there is none)."""
        conn = cursor.connection
        if statement.numbered is not None and conn.autocommit:
            return LIBPQ.one(conn, statement, values)
        cursor.execute(statement.sql, statement.params(values))
        return statement.row(cursor)

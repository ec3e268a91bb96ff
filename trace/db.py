"""Database engine and the per-request session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Connection, CursorResult, Engine, Result, Select, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from trace import extensions

#: Any SELECT (SQLModel's ``select`` builds subclasses), for helpers that add clauses to a
#: statement and hand it back with its row type intact, so ``Session.exec`` still knows
#: what it returns.
AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


def rows_changed(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE, INSERT or DELETE run by ``Session.execute`` changed.

    ``Session.execute`` is typed to return a plain ``Result``; for those statements it is a
    ``CursorResult``, which counts them.
    """
    assert isinstance(result, CursorResult)
    return result.rowcount


def conflict_insert(session: OrmSession, table: Any) -> Any:
    """The dialect's ``INSERT`` into ``table`` that can say ``ON CONFLICT`` (SQLite and
    PostgreSQL both can; SQLAlchemy's core ``insert`` cannot)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``: SQLite in WAL mode with foreign keys, or PostgreSQL.

    :param url: an SQLAlchemy database URL.
    :returns: a configured engine; no connection is opened yet.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MB: bulk minting touches big indexes
    cursor.close()


def init_app(app: Flask) -> None:
    """Build the engine from ``DATABASE_URL`` and close each request's session."""
    extensions.set_db_engine(app, make_engine(app.config["DATABASE_URL"]))
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """The current app's engine."""
    return extensions.db_engine(current_app)


def get_session() -> Session:
    """The session of the current app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


@contextmanager
def snapshot(bind: Engine | Connection) -> Iterator[Session]:
    """A read-only session whose statements all see one committed state of the database.

    PostgreSQL's READ COMMITTED (the default) and SQLite outside a transaction show each
    statement whatever was committed when it started, so a writer that commits between two
    reads tears them: a check that compares several tables (a lot's data, its recorded
    document, its queued jobs) can then see a change without the job that came with it.
    Here PostgreSQL runs REPEATABLE READ and SQLite one deferred read transaction; the
    session is rolled back on exit.

    :param bind: the engine, or a connection of it (a second connection is opened).
    """
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            connection.exec_driver_sql("BEGIN")
        with Session(connection) as session:
            yield session
        connection.rollback()

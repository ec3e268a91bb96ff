"""PostgreSQL: the hot path's prebuilt statements run through libpq's prepared statements
(stamps.hotpath.statements.Libpq) answer exactly what psycopg's cursor answers, survive the
server forgetting them, and raise psycopg's own errors, leaving the connection usable."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import minting
from stamps.extensions import scan_statements
from stamps.hotpath.statements import ScanStatements
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace.models.base import utcnow

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
    reason="libpq's prepared statements are PostgreSQL's (SQLite runs the cursor path)",
)


@pytest.fixture
def serials(session: Session, farm_a: Farm, farm_b: Farm) -> list[str]:
    """Stamps of two producers' lots."""
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 3, "1")
    minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 3, "1")
    return list(session.exec(select(Stamp.serial).order_by(col(Stamp.id))).all())


def _find(statements: ScanStatements, serial: str) -> tuple[object, ...] | None:
    since = utcnow() - timedelta(minutes=30)
    values = {"serial": serial, "client": "client-1", "since": since}
    return statements.one(statements.cursor(), statements.find, values)  # type: ignore[no-any-return]


def _find_by_cursor(statements: ScanStatements, serial: str) -> tuple[object, ...] | None:
    since = utcnow() - timedelta(minutes=30)
    cursor = statements.cursor()
    find = statements.find
    cursor.execute(find.sql, find.params({"serial": serial, "client": "client-1", "since": since}))
    return find.row(cursor)


def _prepared(statements: ScanStatements) -> list[str]:
    cursor = statements.cursor()
    cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'agritrace%'")
    return [name for (name,) in cursor.fetchall()]


def test_find_through_libpq_equals_the_cursor_row(app: Flask, serials: list[str]) -> None:
    with app.app_context():
        statements = scan_statements(app)
        for serial in serials:
            row = _find(statements, serial)
            assert row is not None
            assert row == _find_by_cursor(statements, serial)
            names = dict(zip(statements.find.names or (), row, strict=True))
            assert names["serial"] == serial
        assert _find(statements, "0" * 14) is None  # no such stamp: no row
        assert _prepared(statements), "the find ran as the server's prepared statement"


def test_a_server_that_forgot_its_prepared_statements_is_asked_again(
    app: Flask, serials: list[str]
) -> None:
    with app.app_context():
        statements = scan_statements(app)
        expected = _find(statements, serials[0])
        statements.cursor().execute("DEALLOCATE ALL")
        assert _prepared(statements) == []
        assert _find(statements, serials[0]) == expected
        assert _prepared(statements)


def test_an_error_is_psycopgs_and_leaves_the_connection_usable(
    app: Flask, serials: list[str]
) -> None:
    import psycopg

    with app.app_context():
        statements = scan_statements(app)
        record = statements.record_scan
        assert record is not None and record.numbered is not None
        values = {"stamp": 10**9, "now": utcnow(), "client": "c", "agent": "a"}
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            statements.one(statements.cursor(), record, values)
        assert _find(statements, serials[1]) == _find_by_cursor(statements, serials[1])

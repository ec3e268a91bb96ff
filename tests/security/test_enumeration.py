"""Guessing stamp serials: a burst from one client is throttled before any database work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlmodel import Session, select

from stamps.identity import new_serials
from stamps.models import Scan
from tests.registry_fixtures import Farm
from trace.models import Lot, Product

LIMIT = 5
BURST = 40
JSON = {"Accept": "application/json", "User-Agent": "Mozilla/5.0 (Linux; Android 13) Mobile"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SCAN_RATE_LIMIT": f"{LIMIT} per minute"}


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs."""
    seen: list[str] = []
    engine = app.extensions["db_engine"]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_burst_of_random_serials_is_throttled_without_touching_the_database(
    app: Flask, session: Session, farm_a: Farm, statements: list[str]
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    client = app.test_client()
    answers = []
    for serial in new_serials(BURST):
        statements.clear()
        response = client.get(f"/01/{gtin}/10/{lot.code}/21/{serial}", headers=JSON)  # type: ignore[union-attr]
        answers.append((response.status_code, len(statements)))
    codes = [code for code, _ in answers]
    assert codes == [404] * LIMIT + [429] * (BURST - LIMIT)
    assert all(queries > 0 for _, queries in answers[:LIMIT])  # a real lookup happened
    assert [queries for _, queries in answers[LIMIT:]] == [0] * (BURST - LIMIT)
    assert session.exec(select(Scan)).all() == []  # no guess is logged as a scan


def test_malformed_serials_are_refused_without_any_query(
    app: Flask, farm_a: Farm, statements: list[str]
) -> None:
    client = app.test_client()
    for guess in ("' OR 1=1 --", "%27%3B DROP TABLE stamps", "A" * 40):
        statements.clear()
        response = client.get(f"/01/08936001230012/10/TL-1/21/{guess}", headers=JSON)
        assert response.status_code in (400, 429)
        assert statements == []

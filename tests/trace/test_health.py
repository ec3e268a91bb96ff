"""/healthz reports the database, the chain and the worker, and names what fails."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlmodel import Session

from chain.testing import FakeChainClient
from trace import jobs


def test_healthy_when_database_chain_and_a_worker_are_up(app: Flask, session: Session) -> None:
    app.extensions["chain"] = FakeChainClient()
    jobs.beat(session, "w1")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["worker"]["live_workers"] == 1


def test_503_names_the_chain_when_the_node_is_down(app: Flask, session: Session) -> None:
    chain = FakeChainClient()
    chain.available = False
    app.extensions["chain"] = chain
    jobs.beat(session, "w1")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["failing"] == ["chain"]


def test_503_names_the_worker_when_none_is_running(app: Flask) -> None:
    app.extensions["chain"] = FakeChainClient()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["failing"] == ["worker"]


def test_embedded_chain_is_healthy_in_a_fresh_instance(app: Flask, session: Session) -> None:
    jobs.beat(session, "w1")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json["chain"]["chain_id"]


def test_livez_answers_without_touching_the_database(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.extensions, "db_engine", None)  # any database use now fails
    assert app.test_client().get("/healthz").json["database"]["ok"] is False
    response = app.test_client().get("/livez")
    assert response.status_code == 200 and response.json == {"status": "ok"}

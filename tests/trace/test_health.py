"""/healthz reports the database, the chain and the worker, and names what fails."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlmodel import Session

from chain.testing import FakeChainClient
from tests.chain.locks import held_by_another_thread
from trace import jobs
from trace.web.chain_probe import ChainProbe


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


def test_healthz_answers_while_another_thread_holds_the_chain(app: Flask, session: Session) -> None:
    jobs.beat(session, "w1")
    web = app.test_client()
    assert web.get("/healthz").json["chain"]["busy"] is False
    with held_by_another_thread(app.extensions["chain"]._lock):  # anchoring, say
        response = web.get("/healthz")
    app.extensions["chain_probe"].status(wait=10)  # let the waiting check finish first
    assert response.status_code == 200, response.json
    chain = response.json["chain"]
    assert chain["ok"] is True and chain["busy"] is True and chain["chain_id"]
    assert "checked_s_ago" in chain and "busy_for_s" in chain


def test_healthz_names_a_chain_that_never_answered(app: Flask, session: Session) -> None:
    jobs.beat(session, "w1")
    with held_by_another_thread(app.extensions["chain"]._lock):
        response = app.test_client().get("/healthz")
    assert app.extensions["chain_probe"].status(wait=10)["ok"] is True  # once it answers
    assert response.status_code == 503 and response.json["failing"] == ["chain"]
    assert response.json["chain"]["busy"] is True


class _StuckChain(FakeChainClient):
    """Answers once, then hangs in is_available until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.checks = 0

    def is_available(self) -> bool:
        self.checks += 1
        if self.checks > 1:
            self.release.wait(10)
        return True


def test_a_chain_busy_past_the_stall_bound_is_reported_failing() -> None:
    now = [100.0]
    chain = _StuckChain()
    probe = ChainProbe(chain, clock=lambda: now[0])
    assert probe.status(wait=10) == {"ok": True, "chain_id": chain.chain_id, "busy": False}
    busy = probe.status(wait=0, stalled_after=30)
    assert busy["ok"] is True and busy["busy"] is True
    now[0] += 31
    stalled = probe.status(wait=0, stalled_after=30)
    assert stalled["ok"] is False and stalled["error"] == "no answer for 31 s"
    assert stalled["checked_s_ago"] == 31.0
    chain.release.set()
    assert probe.status(wait=10)["ok"] is True

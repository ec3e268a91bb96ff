"""Anchoring fixtures: run the outbox to completion, swap in a fake chain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlmodel import Session

from chain.testing import FakeChainClient
from trace import jobs
from trace.anchoring.jobs import JOB_ROUND


@pytest.fixture
def drain(app: Flask, session: Session) -> Callable[[], int]:
    """Run every due job (documents first, as the worker would); return how many ran."""

    def run() -> int:
        ran = 0
        with app.app_context():
            while jobs.run_one(app, session, "test-worker"):
                ran += 1
        return ran

    return run


@pytest.fixture
def anchor_round(session: Session, drain: Callable[[], int]) -> Callable[[], None]:
    """Bring documents up to date, then run one anchoring round."""

    def run() -> None:
        drain()
        jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
        session.commit()
        drain()

    return run


@pytest.fixture
def fake_chain(app: Flask) -> FakeChainClient:
    client = FakeChainClient()
    app.extensions["chain"] = client
    return client

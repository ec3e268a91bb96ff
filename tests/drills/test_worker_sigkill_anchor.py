"""Fault drill: a real `flask worker` process is SIGKILLed after an anchoring transaction is
on chain and before the round is recorded.

The worker kills itself with SIGKILL at the crash point ``anchor-sent``
(``AGRITRACE_CRASH_AT``, see ``trace.jobs.crash_point``). A second worker starts once the
dead one's lease has run out. Afterwards there is exactly one anchor: one ``Anchored``
event, one ``anchor()`` transaction, one confirmed round. On the embedded chain (the
store lives inside the killed process) and on a separate anvil node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from tests.chain.anvil import ANVIL_KEY
from tests.drills.conftest import (
    PATIENCE,
    StatefulAnvil,
    WorkerProcess,
    anchored_events,
    assert_killed_at_crash_point,
    expire_leases,
    transactions_sent_by,
    wait_until,
)
from tests.registry_fixtures import Farm
from trace.models import AnchorRound, LotDocument, RoundStatus

MARKETPLACES = ["postmart", "voso"]


@pytest.fixture(params=["embedded", "anvil"])
def chain_url(request: pytest.FixtureRequest) -> str:
    """The drill runs on the embedded chain (in the worker) and on a separate anvil node."""
    if request.param == "embedded":
        return "embedded"
    node: StatefulAnvil = request.getfixturevalue("anvil_node")
    return node.url


@pytest.fixture
def app_config(app_config: dict[str, Any], chain_url: str) -> dict[str, Any]:
    if chain_url == "embedded":
        return app_config
    return app_config | {"CHAIN_URL": chain_url, "CHAIN_PRIVATE_KEY": ANVIL_KEY}


def rounds(session: Session) -> list[AnchorRound]:
    session.expire_all()
    return list(session.exec(select(AnchorRound)))


def test_worker_killed_after_the_anchor_was_sent_anchors_exactly_once(
    app: Flask,
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    worker_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    env = worker_env | {"ANCHOR_INTERVAL_SECONDS": "0"}  # a round as soon as documents wait
    assert_killed_at_crash_point(start_worker(env, crash_at="anchor-sent"))
    (anchor,) = rounds(session)
    assert anchor.status == RoundStatus.PREPARED and anchor.tx_hash is None  # never recorded

    expire_leases(session)
    again = start_worker(env)
    wait_until(
        lambda: rounds(session)[0].status == RoundStatus.CONFIRMED,
        PATIENCE,
        "the round to confirm",
    )
    again.stop()
    assert again.proc.returncode == 0, again.output()

    (anchor,) = rounds(session)
    chain = app.extensions["chain"]  # opened only now: the workers held the embedded store
    assert anchored_events(chain, anchor.root) == [anchor.tx_hash]
    assert transactions_sent_by(chain) == 2  # the contract's deployment and one anchor()
    documents = session.exec(select(LotDocument)).all()
    assert len(documents) == 2 and {d.round_id for d in documents} == {anchor.id}

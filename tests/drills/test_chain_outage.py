"""Fault drill: the chain node (a real anvil) goes away in the middle of an anchoring round.

The node is stopped once the round is prepared, or just after its transaction was sent,
then started again on the same port with the blocks it had (anvil's ``--state``). The
round must complete exactly once: one ``Anchored`` event for its root, one transaction
from the service key, one confirmed round holding every lot's document version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, select

from chain.rpc import RpcChainClient
from tests.chain.anvil import ANVIL_KEY
from tests.drills.conftest import StatefulAnvil, anchored_events, transactions_sent_by
from tests.registry_fixtures import Farm
from trace import jobs
from trace.anchoring import prepare_round
from trace.anchoring.jobs import JOB_ROUND
from trace.models import AnchorRound, Job, LotDocument, RoundStatus
from trace.models.base import utcnow


@pytest.fixture
def app_config(app_config: dict[str, Any], anvil_node: StatefulAnvil) -> dict[str, Any]:
    return app_config | {"CHAIN_URL": anvil_node.url, "CHAIN_PRIVATE_KEY": ANVIL_KEY}


@pytest.fixture
def chain(app: Flask) -> RpcChainClient:
    """The app's client, with the contract deployed before the drill starts."""
    client = app.extensions["chain"]
    assert isinstance(client, RpcChainClient)
    client.timeout = 2  # a stopped node is noticed in seconds
    client.deploy_if_needed()
    return client


@pytest.fixture
def run_jobs(app: Flask, session: Session) -> Callable[[], None]:
    """Run every job that is due now or waiting out a retry delay, as a worker would."""

    def run() -> None:
        waiting = update(Job).where(col(Job.status) == jobs.QUEUED)
        session.execute(waiting.values(run_after=utcnow()))
        session.commit()
        with app.app_context():
            while jobs.run_one(app, session, "drill-worker"):
                pass

    return run


@pytest.fixture
def prepared(
    session: Session, farm_a: Farm, farm_b: Farm, run_jobs: Callable[[], None]
) -> AnchorRound:
    """Both farms' lot documents written and a round over them prepared (root committed)."""
    run_jobs()
    anchor = prepare_round(session, 100)
    assert anchor is not None and anchor.leaf_count == 2
    jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
    session.commit()
    return anchor


def assert_completed_once(session: Session, chain: RpcChainClient, sent_before: int) -> None:
    (anchor,) = session.exec(select(AnchorRound)).all()
    session.refresh(anchor)
    assert anchor.status == RoundStatus.CONFIRMED and anchor.attempts == 2
    assert anchored_events(chain, anchor.root) == [anchor.tx_hash]
    assert transactions_sent_by(chain) == sent_before + 1  # one anchor() in all
    documents = session.exec(select(LotDocument)).all()
    assert sorted((d.lot_id, d.version) for d in documents) == sorted(
        {(d.lot_id, d.version) for d in documents}
    )
    assert len(documents) == 2 and {d.round_id for d in documents} == {anchor.id}
    (job,) = session.exec(select(Job).where(Job.kind == JOB_ROUND)).all()
    assert job.status == jobs.DONE


def test_node_down_after_the_round_is_prepared_anchors_it_once_when_back(
    session: Session,
    chain: RpcChainClient,
    anvil_node: StatefulAnvil,
    prepared: AnchorRound,
    run_jobs: Callable[[], None],
) -> None:
    sent_before = transactions_sent_by(chain)
    anvil_node.stop()
    run_jobs()
    session.refresh(prepared)
    assert prepared.status == RoundStatus.PREPARED and "unreachable" in (prepared.last_error or "")
    (job,) = session.exec(select(Job).where(Job.kind == JOB_ROUND)).all()
    assert job.status == jobs.QUEUED and job.attempts == 1  # waiting to retry
    anvil_node.start()
    run_jobs()
    assert_completed_once(session, chain, sent_before)


def test_node_gone_right_after_the_transaction_was_sent_is_not_sent_again(
    session: Session,
    chain: RpcChainClient,
    anvil_node: StatefulAnvil,
    prepared: AnchorRound,
    run_jobs: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent_before = transactions_sent_by(chain)
    send = chain._send

    def send_then_lose_the_node(*args: Any, **kwargs: Any) -> str:
        tx_hash = send(*args, **kwargs)
        # anvil automines, but may answer before the block is in: wait until it is (the
        # node itself, not our client), so the block is in the state file it writes on stop
        anvil_node.wait_for_receipt(tx_hash)
        anvil_node.stop()  # ...and the node is gone before our client reads the receipt
        return tx_hash

    monkeypatch.setattr(chain, "_send", send_then_lose_the_node)
    run_jobs()
    session.refresh(prepared)
    assert prepared.status == RoundStatus.PREPARED and prepared.tx_hash is None
    monkeypatch.undo()
    anvil_node.start()
    assert len(anchored_events(chain, prepared.root)) == 1  # it did land before the outage
    run_jobs()
    assert_completed_once(session, chain, sent_before)

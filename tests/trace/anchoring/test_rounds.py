"""Lots are anchored in rounds: one transaction per round, nothing lost, nothing doubled."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from chain.canonical import document_hash
from chain.merkle import leaf_hash, process_proof
from chain.testing import FakeChainClient
from tests.registry_fixtures import Farm
from trace.anchoring import build_document
from trace.models import AnchorRound, Job, LotDocument
from trace.services import events
from trace.services.events import NewEvent


def documents(session: Session, lot_id: int) -> list[LotDocument]:
    statement = (
        select(LotDocument).where(LotDocument.lot_id == lot_id).order_by(col(LotDocument.version))
    )
    return list(session.exec(statement))


def test_a_new_lot_gets_a_document_whose_hash_is_its_leaf(
    session: Session, farm_a: Farm, drain: Callable[[], int]
) -> None:
    drain()
    (version,) = documents(session, farm_a.lot_id)
    document = json.loads(version.canonical_json)
    assert version.version == 1 and version.round_id is None
    assert version.doc_hash == document_hash(document).hex()
    assert document == build_document(session, farm_a.lot_id)
    assert document["lot"]["code"] == "TL-1" and document["product"]["gtin"].startswith("0893")


def test_one_round_anchors_every_pending_lot_in_one_transaction(
    session: Session,
    make_farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],  # type: ignore[no-untyped-def]
) -> None:
    farms = [make_farm(n) for n in (1, 2, 3)]
    anchor_round()
    (anchor,) = session.exec(select(AnchorRound)).all()
    assert anchor.status == "confirmed" and anchor.leaf_count == 3
    assert anchor.tx_hash and anchor.block_number and anchor.gas_used
    assert len(fake_chain.sent) == 1  # exactly one anchoring transaction
    for farm in farms:
        (version,) = documents(session, farm.lot_id)
        leaf = leaf_hash(bytes.fromhex(version.doc_hash))
        proof = [bytes.fromhex(p) for p in version.lot_proof]
        assert process_proof(leaf, proof).hex() == anchor.root


def test_an_event_after_anchoring_makes_a_new_version_for_the_next_round(
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
    drain: Callable[[], int],
) -> None:
    anchor_round()
    events.record_event(
        session,
        farm_a.actor,
        farm_a.lot_id,
        NewEvent("cooling", datetime(2026, 1, 2, 8, tzinfo=UTC), "Kho lạnh", {}),
    )
    drain()
    first, second = documents(session, farm_a.lot_id)
    assert first.round_id is not None and second.round_id is None
    assert len(json.loads(second.canonical_json)["events"]) == 1
    anchor_round()
    session.refresh(second)
    assert second.round_id is not None and second.round_id != first.round_id
    assert len(session.exec(select(AnchorRound)).all()) == 2


def test_node_down_keeps_the_round_pending_and_retries_it_once_back(
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
    drain: Callable[[], int],
) -> None:
    fake_chain.available = False
    anchor_round()
    (anchor,) = session.exec(select(AnchorRound)).all()
    assert anchor.status == "prepared" and "unavailable" in (anchor.last_error or "").lower()
    job = session.exec(select(Job).where(Job.kind == "anchoring.round")).one()
    assert job.status == "queued" and job.attempts == 1
    fake_chain.available = True
    job.run_after = anchor.created_at  # due now
    session.add(job)
    session.commit()
    drain()
    session.refresh(anchor)
    assert anchor.status == "confirmed" and len(fake_chain.sent) == 1


def test_crash_between_sending_and_recording_does_not_anchor_twice(
    session: Session, farm_a: Farm, fake_chain: FakeChainClient, anchor_round: Callable[[], None]
) -> None:
    calls: list[bytes] = []
    send = fake_chain.anchor
    fake_chain.anchor = lambda root, n: calls.append(root) or send(root, n)  # type: ignore[method-assign]
    fake_chain.lose_receipts(1)  # the transaction lands but the sender never hears back
    anchor_round()
    (anchor,) = session.exec(select(AnchorRound)).all()
    assert anchor.status == "prepared"
    assert fake_chain.anchored_at(bytes.fromhex(anchor.root))  # it is on chain already
    job = session.exec(select(Job).where(Job.kind == "anchoring.round")).one()
    job.run_after = anchor.created_at
    session.add(job)
    session.commit()
    anchor_round()
    session.refresh(anchor)
    assert anchor.status == "confirmed"
    assert len(calls) == 1  # recovered from the chain, not sent again

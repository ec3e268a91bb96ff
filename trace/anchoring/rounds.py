"""Anchoring rounds: pending lot document and export manifest hashes under one Merkle root,
one transaction each."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from chain.client import AnchorReceipt, ChainClient
from chain.rounds import RoundPlan, anchor_round, plan_round
from trace.jobs import crash_point
from trace.models import AnchorRound, LotDocument, RoundStatus
from trace.models.base import utcnow
from trace.models.exports import ExportManifest
from trace.services.exports import manifests_in_round, pending_manifests


def prepare_round(session: Session, max_leaves: int) -> AnchorRound | None:
    """The round to send next: an unfinished one first, else a new one over pending documents.

    The root and each document's place in the tree are committed *before* anything is
    sent, so a crash after sending is recovered by looking the root up on chain.
    """
    unfinished = session.exec(
        select(AnchorRound)
        .where(AnchorRound.status == RoundStatus.PREPARED)
        .order_by(col(AnchorRound.id))
    ).first()
    if unfinished is not None:
        return unfinished
    documents = list(
        session.exec(
            select(LotDocument)
            .where(col(LotDocument.round_id).is_(None))
            .order_by(col(LotDocument.id))
            .limit(max_leaves)
        )
    )
    manifests = pending_manifests(session, max_leaves - len(documents))
    if not documents and not manifests:
        return None
    plan = _plan(documents, manifests)
    anchor = AnchorRound(root=plan.root.hex(), leaf_count=plan.leaf_count)
    session.add(anchor)
    session.flush()
    # Leaves: the lot documents, then the export manifests, each in id order.
    for record, proof in zip([*documents, *manifests], plan.tree.proofs(), strict=True):
        record.round_id = anchor.id
        if isinstance(record, LotDocument):
            record.lot_proof = [step.hex() for step in proof]
        else:
            record.round_proof = [step.hex() for step in proof]
        session.add(record)
    session.commit()
    return anchor


def _plan(documents: list[LotDocument], manifests: list[ExportManifest]) -> RoundPlan:
    leaves = [d.doc_hash for d in documents] + [m.manifest_hash or "" for m in manifests]
    return plan_round([bytes.fromhex(leaf) for leaf in leaves])


def send_round(
    session: Session, client: ChainClient, anchor: AnchorRound, confirmations: int = 1
) -> AnchorRound:
    """Anchor a prepared round (at most one transaction) and record where it landed.

    :raises ChainError: the node is down or the transaction failed; the round stays
        prepared and is sent again later.
    """
    documents = list(
        session.exec(
            select(LotDocument)
            .where(LotDocument.round_id == anchor.id)
            .order_by(col(LotDocument.id))
        )
    )
    plan = _plan(documents, manifests_in_round(session, anchor.id))  # type: ignore[arg-type]
    if plan.root.hex() != anchor.root:
        raise RuntimeError(f"round {anchor.id}: documents no longer give root {anchor.root}")
    anchor.attempts += 1
    session.add(anchor)
    session.commit()
    try:
        result = anchor_round(client, plan, confirmations)
    except Exception as error:
        anchor.last_error = repr(error)[:500]
        session.add(anchor)
        session.commit()
        raise
    crash_point("anchor-sent")  # fault drills: on chain, not yet recorded
    _record(anchor, result.receipt)
    session.add(anchor)
    session.commit()
    return anchor


def _record(anchor: AnchorRound, receipt: AnchorReceipt) -> None:
    anchor.status = RoundStatus.CONFIRMED
    anchor.tx_hash = receipt.tx_hash
    anchor.block_number = receipt.block_number
    anchor.block_time = datetime.fromtimestamp(receipt.block_timestamp, UTC)
    anchor.gas_used = receipt.gas_used
    anchor.chain_id = receipt.chain_id
    anchor.contract_address = receipt.contract_address
    anchor.confirmed_at = utcnow()
    anchor.last_error = None


#: The round's columns a chain receipt is made of (:func:`receipt_from`).
RECEIPT_COLUMNS = (
    "status", "root", "leaf_count", "tx_hash", "block_number", "block_time", "gas_used",
    "chain_id", "contract_address",
)  # fmt: skip


def receipt_of(anchor: AnchorRound) -> AnchorReceipt:
    """The chain receipt a confirmed round recorded."""
    return receipt_from({name: getattr(anchor, name) for name in RECEIPT_COLUMNS})


def receipt_from(values: Mapping[str, Any]) -> AnchorReceipt:
    """The chain receipt of a confirmed round given as its :data:`RECEIPT_COLUMNS` values
    (a row of :data:`ANCHORED_VERSION`, or a round's attributes)."""
    assert values["status"] == RoundStatus.CONFIRMED and values["tx_hash"] and values["block_time"]
    return AnchorReceipt(
        root=bytes.fromhex(values["root"]),
        leaf_count=values["leaf_count"],
        tx_hash=values["tx_hash"],
        block_number=values["block_number"] or 0,
        block_timestamp=int(values["block_time"].timestamp()),
        gas_used=values["gas_used"] or 0,
        chain_id=values["chain_id"] or 0,
        contract_address=values["contract_address"] or "",
    )


_DOCUMENTS = LotDocument.__table__  # type: ignore[attr-defined]
_ROUNDS = AnchorRound.__table__  # type: ignore[attr-defined]
#: :func:`anchored_version` as plain columns (bind ``lot``), for driver-level readers such
#: as the inspector API's lean path: the document, its path in the round, the receipt.
ANCHORED_VERSION = (
    select(
        _DOCUMENTS.c.canonical_json,
        _DOCUMENTS.c.lot_proof,
        *(_ROUNDS.c[name] for name in RECEIPT_COLUMNS),
    )
    .select_from(_DOCUMENTS)
    .join(_ROUNDS, _ROUNDS.c.id == _DOCUMENTS.c.round_id)
    .where(_DOCUMENTS.c.lot_id == bindparam("lot"), _ROUNDS.c.status == RoundStatus.CONFIRMED)
    .order_by(_DOCUMENTS.c.version.desc())
    .limit(1)
)


def anchored_version(session: Session, lot_id: int) -> tuple[LotDocument, AnchorRound] | None:
    """The newest document version of a lot whose round is confirmed."""
    statement = (
        select(LotDocument, AnchorRound)
        .join(AnchorRound, col(AnchorRound.id) == LotDocument.round_id)
        .where(LotDocument.lot_id == lot_id, AnchorRound.status == RoundStatus.CONFIRMED)
        .order_by(col(LotDocument.version).desc())
    )
    row = session.exec(statement).first()
    return (row[0], row[1]) if row else None

"""A lot-level proof bundle: the lot's anchored document and its path to the round root.

It is a stamp bundle (:mod:`chain.proof`) without the stamp: ``document_hash(document)``
with ``lot.path`` leads to ``anchor.root``, and the root is anchored on chain. The
document carries the lot's digital product passport (schema 3), so the bundle proves it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from chain.canonical import document_hash
from chain.errors import InvalidProof
from chain.merkle import leaf_hash, process_proof
from stamps.proofs import ProofPending
from trace.anchoring import anchored_version, receipt_of
from trace.i18n import _l

LOT_BUNDLE_FORMAT = "agritrace-lot-proof-bundle"


def lot_proof_bundle(session: Session, lot_id: int, rpc_hint: str | None) -> dict[str, Any]:
    """The lot's newest confirmed document version with its Merkle path and anchor.

    :raises ProofPending: the lot has no confirmed anchored version yet.
    :raises InvalidProof: the stored path does not lead to the anchored root (tampering).
    """
    anchored = anchored_version(session, lot_id)
    if anchored is None:
        raise ProofPending(_l("The lot has not been anchored yet."))
    version, anchor = anchored
    document = json.loads(version.canonical_json)
    path = [bytes.fromhex(step) for step in version.lot_proof or []]
    receipt = receipt_of(anchor)
    if process_proof(leaf_hash(document_hash(document)), path) != receipt.root:
        raise InvalidProof("the lot document does not lead to its round's anchored root")
    return {
        "format": LOT_BUNDLE_FORMAT,
        "version": 1,
        "document": document,
        "lot": {"version": version.version, "path": [f"0x{p.hex()}" for p in path]},
        "anchor": {
            "root": f"0x{receipt.root.hex()}",
            "leaf_count": receipt.leaf_count,
            "chain_id": receipt.chain_id,
            "contract": receipt.contract_address.lower(),
            "tx_hash": receipt.tx_hash.lower(),
            "block_number": receipt.block_number,
            "block_timestamp": receipt.block_timestamp,
        },
        "rpc_hint": rpc_hint,
    }

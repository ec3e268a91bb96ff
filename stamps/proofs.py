"""Proof bundles for a stamp: its path to the lot's stamp root, the lot's path to the round."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from chain.merkle import MerkleTree, leaf_value_for
from chain.proof import build_bundle
from stamps.errors import StampError
from stamps.models import Stamp
from trace.anchoring import anchored_version, receipt_of
from trace.errors import NotFound
from trace.i18n import _l


class ProofPending(StampError):
    """The stamp is not yet in a confirmed anchoring round; try again after the next one."""

    status = 409
    slug = "pending"


def proof_bundle(session: Session, serial: str, rpc_hint: str | None) -> dict[str, Any]:
    """The self-contained proof bundle of a stamp (checkable with ``python -m chain.verify``).

    The stamp tree of an anchored document version is over the lot's first
    ``document["stamp_count"]`` stamps (stamps are never deleted, ids only grow).

    :param rpc_hint: a JSON-RPC URL verifiers may use, written into the bundle.
    :raises NotFound: no stamp with this serial.
    :raises ProofPending: the stamp's lot has no confirmed version that includes it yet.
    :raises InvalidProof: the stored parts do not lead to the anchored root (tampering).
    """
    stamp = session.exec(select(Stamp).where(Stamp.serial == serial)).first()
    if stamp is None:
        raise NotFound()
    anchored = anchored_version(session, stamp.lot_id)
    if anchored is None:
        raise ProofPending(_l("The stamp's lot has not been anchored yet."))
    version, anchor = anchored
    document = json.loads(version.canonical_json)
    serials = _anchored_serials(session, stamp.lot_id, int(document.get("stamp_count") or 0))
    if serial not in serials:
        raise ProofPending(_l("The stamp was minted after the lot's latest anchored version."))
    tree = MerkleTree.of(leaf_value_for(s) for s in serials)
    stamp_path = tree.proof_for(leaf_value_for(serial))
    lot_path = [bytes.fromhex(step) for step in version.lot_proof or []]
    return build_bundle(document, serial, stamp_path, lot_path, receipt_of(anchor), rpc_hint)


def _anchored_serials(session: Session, lot_id: int, count: int) -> list[str]:
    if count <= 0:
        return []
    statement = (
        select(Stamp.serial).where(Stamp.lot_id == lot_id).order_by(col(Stamp.id)).limit(count)
    )
    return list(session.exec(statement))


def rpc_hint_for(config: Any, chain_client: Any) -> str | None:
    """Where verifiers can reach the chain: our bridge when embedded, else the public RPC."""
    if getattr(chain_client, "embedded", False):
        return f"{config['PUBLIC_BASE_URL']}/chain/rpc"
    hint: str | None = config.get("CHAIN_PUBLIC_RPC_URL")
    return hint

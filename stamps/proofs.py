"""Proof bundles for a stamp: its path to the lot's stamp root, the lot's path to the round."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from chain.client import AnchorReceipt
from chain.errors import InvalidLeaf
from chain.hashing import keccak_factory
from chain.merkle import MerkleTree, PackedTree, leaf_value_for
from chain.proof import build_bundle
from stamps.caching import LruCache
from stamps.errors import StampError
from stamps.models import Stamp
from stamps.proof_store import TreeKey, TreeStore
from trace.anchoring import anchored_version, receipt_of
from trace.errors import NotFound
from trace.i18n import _l


class ProofPending(StampError):
    """The stamp is not yet in a confirmed anchoring round; try again after the next one."""

    status = 409
    slug = "pending"


class StampTreeCache(LruCache[TreeKey, PackedTree]):
    """Lots' stamp trees, each for one anchored stamp set, up to a total number of leaves.

    Trees are kept packed, about 64 bytes a leaf, so the budget bounds a worker's memory
    however many stamps the province has.
    """

    def __init__(self, leaves: int = 200_000) -> None:
        super().__init__(leaves, weigh=len)


def proof_bundle(
    session: Session,
    serial: str,
    rpc_hint: str | None,
    trees: StampTreeCache | None = None,
) -> dict[str, Any]:
    """The self-contained proof bundle of a stamp (checkable with ``python -m chain.verify``).

    The stamp tree of an anchored document version is over the lot's first
    ``document["stamp_count"]`` stamps (stamps are never deleted, ids only grow).

    :param rpc_hint: a JSON-RPC URL verifiers may use, written into the bundle.
    :param trees: where stamp trees are kept between requests (one per app:
        ``stamps.init_app``); without it the tree is built afresh.
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
    lot_id = stamp.lot_id
    return assemble_bundle(
        AnchoredParts(lot_id, version.canonical_json, version.lot_proof, receipt_of(anchor)),
        serial,
        rpc_hint,
        trees if trees is not None else StampTreeCache(0),
        lambda count: _anchored_serials(session, lot_id, count),
    )


@dataclass(frozen=True)
class AnchoredParts:
    """What a proof bundle takes from a lot's newest anchored version, however it was read."""

    lot_id: int
    canonical_json: str
    lot_proof: list[str] | None
    receipt: AnchorReceipt


def assemble_bundle(
    parts: AnchoredParts,
    serial: str,
    rpc_hint: str | None,
    trees: StampTreeCache,
    read_serials: Callable[[int], list[str]],
    store: TreeStore | None = None,
) -> dict[str, Any]:
    """The proof bundle of ``serial`` from its lot's anchored version (:func:`proof_bundle`).

    :param read_serials: the lot's first ``count`` serials in minting order, read only when
        the stamp tree is neither in ``trees`` nor in ``store``.
    :raises ProofPending: the anchored version counts no stamp with this serial.
    :raises InvalidProof: the stored parts do not lead to the anchored root (tampering).
    """
    document = json.loads(parts.canonical_json)
    tree = cached_tree(parts.lot_id, document, trees, read_serials, store)
    stamp_path = _path_in(tree, serial)
    if stamp_path is None:
        raise ProofPending(_l("The stamp was minted after the lot's latest anchored version."))
    lot_path = [bytes.fromhex(step) for step in parts.lot_proof or []]
    return build_bundle(
        document,
        serial,
        stamp_path,
        lot_path,
        parts.receipt,
        rpc_hint,
        canonical=parts.canonical_json,  # hashed as stored, not canonicalised again
    )


def stamp_tree(
    session: Session, lot_id: int, document: dict[str, Any], trees: StampTreeCache
) -> PackedTree | None:
    """The tree over the stamps an anchored lot document counts (see :func:`cached_tree`)."""
    return cached_tree(
        lot_id, document, trees, lambda count: _anchored_serials(session, lot_id, count)
    )


def cached_tree(
    lot_id: int,
    document: dict[str, Any],
    trees: StampTreeCache,
    read_serials: Callable[[int], list[str]],
    store: TreeStore | None = None,
) -> PackedTree | None:
    """The tree over the stamps an anchored lot document counts, built once per stamp set.

    Versions that add no stamps share their tree; minting more stamps makes a new key.
    Only a tree that gives the document's ``stamp_root`` is kept, so a mismatch (refused
    by ``build_bundle``) is looked at afresh on every request.

    :param read_serials: the lot's first ``count`` serials in minting order.
    :param store: trees kept on the host's disk (:mod:`stamps.proof_store`), looked up
        before building (read each time: only trees built here are kept in ``trees``) and
        given every tree built.
    :returns: None when the document counts no stamps.
    """
    count = int(document.get("stamp_count") or 0)
    if count <= 0:
        return None
    key = (lot_id, count, document.get("stamp_root"))
    tree = trees.get(key)
    if tree is None and store is not None:
        # Not kept in memory: the full path trusts what is there, and a stored tree is
        # only as good as the bundle it gives (checked by ``build_bundle``).
        tree = store.get(key)
    if tree is None:
        tree = tree_of_serials(read_serials(count))
        if f"0x{tree.root.hex()}" == key[2]:
            trees.put(key, tree)
            if store is not None:
                store.put(key, tree)
    return tree


def tree_of_serials(serials: list[str]) -> PackedTree:
    """The packed stamp tree over ``serials``: ``MerkleTree.of(leaf_value_for(s) ...)``.

    The leaf values are hashed in one loop over the raw hasher: a lot of 1,200 stamps
    costs about a third less than through ``leaf_value_for`` call by call.
    """
    keccak = keccak_factory()
    return MerkleTree.of([keccak(s.encode("utf-8")).digest() for s in serials]).packed()


def _path_in(tree: PackedTree | None, serial: str) -> list[bytes] | None:
    """The serial's path in the tree; None when the tree does not hold it (minted later)."""
    if tree is None:
        return None
    try:
        return tree.proof_for(leaf_value_for(serial))
    except InvalidLeaf:
        return None


def _anchored_serials(session: Session, lot_id: int, count: int) -> list[str]:
    statement = (
        select(Stamp.serial).where(Stamp.lot_id == lot_id).order_by(col(Stamp.id)).limit(count)
    )
    return list(session.exec(statement))


def proof_filename(serial: str) -> str:
    """The name a stamp's proof bundle downloads under."""
    return f"proof-{serial}.json"


def verify_command(config: Any, chain_client: Any, serial: str) -> str:
    """``python -m chain.verify`` for a stamp's downloaded proof, as printed beside its link.

    The node is the one verifiers are pointed to (:func:`rpc_hint_for`), else the one the
    service itself writes to (``CHAIN_URL``), so the command works as printed; anyone may
    put a node of the same chain that they trust in its place.
    """
    node = rpc_hint_for(config, chain_client) or config["CHAIN_URL"]
    return f"python -m chain.verify {proof_filename(serial)} --rpc {node}"


def rpc_hint_for(config: Any, chain_client: Any) -> str | None:
    """Where verifiers can reach the chain: our bridge when embedded, else the public RPC."""
    if getattr(chain_client, "embedded", False):
        return f"{config['PUBLIC_BASE_URL']}/chain/rpc"
    hint: str | None = config.get("CHAIN_PUBLIC_RPC_URL")
    return hint

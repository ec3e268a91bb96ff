"""Self-contained proof bundles: build one from its parts, parse one, check its Merkle paths.

A bundle (JSON, ``"version": 1``) lets anyone check a stamp without our database::

    {
      "format": "agritrace-proof-bundle",
      "version": 1,
      "document": {... the lot document, with "stamp_root": "0x<32 bytes>" ...},
      "stamp": {"serial": "AGT-...", "path": ["0x..", ...]},
      "lot": {"path": ["0x..", ...]},
      "anchor": {"root": "0x..", "leaf_count": 12, "chain_id": 31337,
                 "contract": "0x..", "tx_hash": "0x..", "block_number": 7,
                 "block_timestamp": 1700000000},
      "rpc_hint": "https://..." or null
    }

The chain of evidence: ``leaf_value_for(serial)`` + ``stamp.path`` → the document's
``stamp_root``; ``document_hash(document)`` + ``lot.path`` → ``anchor.root``; and the
root is anchored on chain (checked by :mod:`chain.verify`). Paths are OZ
StandardMerkleTree proofs (leaf type ``bytes32``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain.canonical import document_hash
from chain.client import AnchorReceipt
from chain.errors import BundleFormatError, CanonicalizationError, InvalidProof
from chain.hashing import keccak256
from chain.merkle import MerkleTree, leaf_hash, leaf_value_for, process_proof

BUNDLE_FORMAT = "agritrace-proof-bundle"
BUNDLE_VERSION = 1
#: The lot document's key holding its stamp tree root (0x-hex, 32 bytes).
STAMP_ROOT_KEY = "stamp_root"


@dataclass(frozen=True, slots=True)
class Check:
    """One step of a verification, printed as one line."""

    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """A parsed bundle (all hex decoded)."""

    document: dict[str, Any]
    serial: str
    stamp_path: list[bytes]
    lot_path: list[bytes]
    root: bytes
    leaf_count: int
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_timestamp: int | None
    rpc_hint: str | None


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def build_bundle(
    document: dict[str, Any],
    serial: str,
    stamp_path: Sequence[bytes],
    lot_path: Sequence[bytes],
    receipt: AnchorReceipt,
    rpc_hint: str | None = None,
    *,
    canonical: str | None = None,
) -> dict[str, Any]:
    """Assemble a bundle and check its Merkle paths before handing it out.

    Args:
        document: the lot document; must carry ``stamp_root`` (0x-hex).
        serial: the stamp serial, exactly as its leaf was made (``leaf_value_for``).
        stamp_path: proof of the serial's leaf in the lot's stamp tree.
        lot_path: proof of the document hash in the round tree.
        receipt: the round's anchor receipt.
        rpc_hint: a JSON-RPC URL verifiers may use by default.
        canonical: the JSON text ``document`` was parsed from, when the caller has it
            (a stored lot document version). Its Keccak hash is tried first as the
            document hash: when it leads to the anchored root, the text is the RFC 8785
            form that was anchored, so canonicalising ``document`` again would give the
            same bytes (RFC 8785 output parses back to itself). Otherwise the document is
            canonicalised, as without it, before the bundle is refused.

    Returns:
        The bundle as a JSON-ready dict.

    Raises:
        InvalidProof: the parts do not lead to the anchored root.
    """
    bundle = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "document": document,
        "stamp": {"serial": serial, "path": [_hex(p) for p in stamp_path]},
        "lot": {"path": [_hex(p) for p in lot_path]},
        "anchor": {
            "root": _hex(receipt.root),
            "leaf_count": receipt.leaf_count,
            "chain_id": receipt.chain_id,
            "contract": receipt.contract_address.lower(),
            "tx_hash": receipt.tx_hash.lower(),
            "block_number": receipt.block_number,
            "block_timestamp": receipt.block_timestamp,
        },
        "rpc_hint": rpc_hint,
    }
    parsed = parse_bundle(bundle)
    checks = [_check_stamp(parsed), _check_lot_as_stored(parsed, canonical)]
    failed = [c.message for c in checks if not c.ok]
    if failed:
        raise InvalidProof("; ".join(failed))
    return bundle


def build_bundle_from_trees(
    document: dict[str, Any],
    serial: str,
    stamp_tree: MerkleTree,
    round_tree: MerkleTree,
    receipt: AnchorReceipt,
    rpc_hint: str | None = None,
) -> dict[str, Any]:
    """Like :func:`build_bundle`, taking the proofs from the two trees.

    Raises:
        InvalidLeaf: the serial or the document is not in its tree.
        InvalidProof: see :func:`build_bundle`.
    """
    stamp_path = stamp_tree.proof_for(leaf_value_for(serial))
    lot_path = round_tree.proof_for(document_hash(document))
    return build_bundle(document, serial, stamp_path, lot_path, receipt, rpc_hint)


def parse_bundle(data: Any) -> ProofBundle:
    """Validate the shape of a decoded bundle.

    Raises:
        BundleFormatError: with a one-line reason naming the first bad field.
    """
    _require(isinstance(data, dict), "the bundle is not a JSON object")
    _require(data.get("format") == BUNDLE_FORMAT, f"'format' is not {BUNDLE_FORMAT!r}")
    _require(
        data.get("version") == BUNDLE_VERSION, f"unsupported 'version' {data.get('version')!r}"
    )
    document = _field(data, "document", dict)
    stamp, lot, anchor = (_field(data, k, dict) for k in ("stamp", "lot", "anchor"))
    hint = data.get("rpc_hint")
    _require(hint is None or isinstance(hint, str), "'rpc_hint' must be a string or null")
    timestamp = anchor.get("block_timestamp")
    _require(timestamp is None or _is_int(timestamp), "'anchor.block_timestamp' is not an integer")
    return ProofBundle(
        document=document,
        serial=_field(stamp, "serial", str, "stamp."),
        stamp_path=_path(stamp, "stamp."),
        lot_path=_path(lot, "lot."),
        root=_bytes32(anchor, "root"),
        leaf_count=_int(anchor, "leaf_count"),
        chain_id=_int(anchor, "chain_id"),
        contract=_hexstr(anchor, "contract", 20),
        tx_hash=_hexstr(anchor, "tx_hash", 32),
        block_number=_int(anchor, "block_number"),
        block_timestamp=timestamp,
        rpc_hint=hint,
    )


def check_paths(bundle: ProofBundle) -> list[Check]:
    """Check the two Merkle paths offline: serial → stamp root → document → round root."""
    return [_check_stamp(bundle), _check_lot(bundle)]


def _check_stamp(bundle: ProofBundle) -> Check:
    claimed = bundle.document.get(STAMP_ROOT_KEY)
    try:
        stamp_root = bytes.fromhex(str(claimed).removeprefix("0x"))
    except ValueError:
        stamp_root = b""
    if len(stamp_root) != 32:
        return Check(False, f"the lot document has no valid '{STAMP_ROOT_KEY}' (got {claimed!r})")
    reached = process_proof(leaf_hash(leaf_value_for(bundle.serial)), bundle.stamp_path)
    if reached != stamp_root:
        return Check(
            False,
            f"stamp {bundle.serial!r} with its path leads to {_hex(reached)[:18]}…, not to the "
            f"document's {STAMP_ROOT_KEY} {_hex(stamp_root)[:18]}…",
        )
    return Check(True, f"stamp {bundle.serial!r} is in the lot's stamp tree ({_hex(stamp_root)})")


def _check_lot_as_stored(bundle: ProofBundle, canonical: str | None) -> Check:
    """:func:`_check_lot`, trying the hash of the text the document was parsed from first."""
    if canonical is not None:
        doc_hash = keccak256(canonical.encode("utf-8"))
        if process_proof(leaf_hash(doc_hash), bundle.lot_path) == bundle.root:
            return _lot_found(doc_hash, bundle.root)
    return _check_lot(bundle)


def _check_lot(bundle: ProofBundle) -> Check:
    try:
        doc_hash = document_hash(bundle.document)
    except CanonicalizationError as exc:
        return Check(False, f"the lot document cannot be hashed: {exc}")
    reached = process_proof(leaf_hash(doc_hash), bundle.lot_path)
    if reached != bundle.root:
        return Check(
            False,
            f"the lot document (hash {_hex(doc_hash)[:18]}…) with its path leads to "
            f"{_hex(reached)[:18]}…, not to the anchored root {_hex(bundle.root)[:18]}…",
        )
    return _lot_found(doc_hash, bundle.root)


def _lot_found(doc_hash: bytes, root: bytes) -> Check:
    return Check(True, f"the lot document (hash {_hex(doc_hash)}) is in round root {_hex(root)}")


# -- field validation helpers ------------------------------------------------------------


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise BundleFormatError(reason)


def _field(obj: dict[str, Any], key: str, kind: type, prefix: str = "") -> Any:
    _require(key in obj, f"missing field '{prefix}{key}'")
    _require(isinstance(obj[key], kind), f"'{prefix}{key}' must be a {kind.__name__}")
    return obj[key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _int(anchor: dict[str, Any], key: str) -> int:
    _require(key in anchor, f"missing field 'anchor.{key}'")
    _require(_is_int(anchor[key]), f"'anchor.{key}' must be a non-negative integer")
    return int(anchor[key])


def _decode_hex(value: Any, size: int, name: str) -> bytes:
    _require(isinstance(value, str) and value.startswith("0x"), f"'{name}' must be 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise BundleFormatError(f"'{name}' is not valid hex") from None
    _require(len(raw) == size, f"'{name}' must be {size} bytes, got {len(raw)}")
    return raw


def _bytes32(anchor: dict[str, Any], key: str) -> bytes:
    _require(key in anchor, f"missing field 'anchor.{key}'")
    return _decode_hex(anchor[key], 32, f"anchor.{key}")


def _hexstr(anchor: dict[str, Any], key: str, size: int) -> str:
    _require(key in anchor, f"missing field 'anchor.{key}'")
    return _hex(_decode_hex(anchor[key], size, f"anchor.{key}"))


def _path(obj: dict[str, Any], prefix: str) -> list[bytes]:
    items = _field(obj, "path", list, prefix)
    try:  # the common case in one pass; any doubt goes step by step, naming the bad one
        steps = [bytes.fromhex(p[2:]) for p in items if p[:2] == "0x" and len(p) == 66]
    except (TypeError, ValueError):
        steps = []
    if len(steps) == len(items) and all(len(step) == 32 for step in steps):
        return steps
    return [_decode_hex(p, 32, f"{prefix}path[{i}]") for i, p in enumerate(items)]

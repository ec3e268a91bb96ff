"""Hand-rolled ABI for the Anchor contract: calldata, return values and the Anchored log.

Kept free of web3 so the offline verifier needs nothing but JSON-RPC and eth_abi.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi import decode, encode

from chain.hashing import keccak256

ARTIFACT_PATH = Path(__file__).with_name("contracts") / "Anchor.json"
ANCHORED_EVENT = "Anchored(bytes32,uint256,uint256)"
ANCHORED_TOPIC = keccak256(ANCHORED_EVENT.encode())


@dataclass(frozen=True, slots=True)
class AnchorInfo:
    """What the contract stores for a root: all zero when the root was never anchored."""

    timestamp: int
    block_number: int
    leaf_count: int


@dataclass(frozen=True, slots=True)
class AnchoredLog:
    """A decoded ``Anchored(root indexed, leafCount, timestamp)`` event."""

    address: str
    root: bytes
    leaf_count: int
    timestamp: int


@cache
def load_artifact() -> dict[str, Any]:
    """Return the committed compiled contract (``abi``, ``bytecode``, ``compiler``...)."""
    artifact: dict[str, Any] = json.loads(ARTIFACT_PATH.read_text())
    return artifact


def selector(signature: str) -> bytes:
    """Return the 4-byte function selector of a canonical signature like ``owner()``."""
    return keccak256(signature.encode())[:4]


def encode_anchor(root: bytes, leaf_count: int) -> bytes:
    """Calldata for ``anchor(bytes32 root, uint256 leafCount)``."""
    return selector("anchor(bytes32,uint256)") + encode(["bytes32", "uint256"], [root, leaf_count])


def encode_anchor_of(root: bytes) -> bytes:
    """Calldata for ``anchorOf(bytes32 root)``."""
    return selector("anchorOf(bytes32)") + encode(["bytes32"], [root])


def encode_verify(root: bytes, leaf: bytes, proof: list[bytes]) -> bytes:
    """Calldata for ``verify(bytes32 root, bytes32 leaf, bytes32[] proof)``."""
    args = encode(["bytes32", "bytes32", "bytes32[]"], [root, leaf, list(proof)])
    return selector("verify(bytes32,bytes32,bytes32[])") + args


def encode_owner() -> bytes:
    """Calldata for ``owner()``."""
    return selector("owner()")


def decode_anchor_of(data: bytes) -> AnchorInfo:
    """Decode ``anchorOf``'s return value."""
    timestamp, block_number, leaf_count = decode(["uint256", "uint256", "uint256"], data)
    return AnchorInfo(timestamp, block_number, leaf_count)


def decode_bool(data: bytes) -> bool:
    """Decode a single ``bool`` return value."""
    return bool(decode(["bool"], data)[0])


def decode_address(data: bytes) -> str:
    """Decode a single ``address`` return value as a lowercase 0x-hex string."""
    return str(decode(["address"], data)[0]).lower()


def to_bytes(value: Any) -> bytes:
    """Accept ``bytes``/``HexBytes`` or a 0x-hex string from JSON-RPC and return bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith(("0x", "0X")) else text)


def decode_anchored_log(log: Any) -> AnchoredLog | None:
    """Decode a receipt/getLogs log entry if it is an ``Anchored`` event, else None.

    Args:
        log: a mapping with ``address``, ``topics`` and ``data`` as web3 returns it or
            as raw JSON-RPC hex strings.
    """
    topics = [to_bytes(t) for t in log["topics"]]
    if len(topics) != 2 or topics[0] != ANCHORED_TOPIC:
        return None
    leaf_count, timestamp = decode(["uint256", "uint256"], to_bytes(log["data"]))
    return AnchoredLog(str(log["address"]).lower(), topics[1], leaf_count, timestamp)

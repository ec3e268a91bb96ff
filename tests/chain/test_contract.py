"""The Anchor contract: committed artifact, owner-only idempotent anchoring, OZ verify."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from chain import abi
from chain.embedded import EmbeddedChainClient
from chain.merkle import MerkleTree, leaf_value_for
from tests.chain.oz_reference import VECTORS

ROOT = Path(__file__).resolve().parents[2]
SOLC = ROOT / "node_modules" / "solc"


@pytest.mark.skipif(
    shutil.which("node") is None or not SOLC.is_dir(),
    reason="npm package solc not installed (run `npm install`): cannot rebuild Anchor.json",
)
def test_committed_artifact_matches_a_rebuild_with_the_pinned_compiler() -> None:
    out = subprocess.run(
        ["node", "chain/contracts/compile.mjs", "--stdout"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rebuilt = json.loads(out.stdout)
    committed = abi.load_artifact()
    assert rebuilt["compiler"]["version"] == committed["compiler"]["version"]
    assert rebuilt["bytecode"] == committed["bytecode"]
    assert rebuilt["deployedBytecode"] == committed["deployedBytecode"]
    assert rebuilt["abi"] == committed["abi"]


def test_hand_rolled_selectors_match_the_artifact_abi() -> None:
    contract = Web3().eth.contract(abi=abi.load_artifact()["abi"])
    expected = {
        "anchor": abi.encode_anchor(b"\x01" * 32, 5),
        "anchorOf": abi.encode_anchor_of(b"\x01" * 32),
        "verify": abi.encode_verify(b"\x01" * 32, b"\x02" * 32, [b"\x03" * 32]),
        "owner": abi.encode_owner(),
    }
    args = {
        "anchor": [b"\x01" * 32, 5],
        "anchorOf": [b"\x01" * 32],
        "verify": [b"\x01" * 32, b"\x02" * 32, [b"\x03" * 32]],
        "owner": [],
    }
    for name, data in expected.items():
        assert contract.encode_abi(name, args=args[name]) == "0x" + data.hex()
    events = [e for e in abi.load_artifact()["abi"] if e.get("type") == "event"]
    assert [e["name"] for e in events] == ["Anchored"]
    assert events[0]["inputs"][0] == {
        "indexed": True,
        "internalType": "bytes32",
        "name": "root",
        "type": "bytes32",
    }


def _raw_anchor(
    client: EmbeddedChainClient, root: bytes, count: int, key: str | None = None
) -> Any:
    """Send anchor() directly, bypassing the client's own idempotence check."""
    w3 = client.w3
    account = Account.from_key(key) if key else client._account
    tx: dict[str, Any] = {
        "to": Web3.to_checksum_address(client.contract_address or ""),
        "data": abi.encode_anchor(root, count),
        "gas": 100_000,
        "nonce": w3.eth.get_transaction_count(account.address),
        "chainId": client.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    return w3.eth.get_transaction_receipt(tx_hash)


def test_anchor_emits_event_and_records_timestamp_block_and_count(
    embedded: EmbeddedChainClient,
) -> None:
    root = leaf_value_for("round-1")
    receipt = embedded.anchor(root, 42)
    info = embedded.anchor_info(root)
    assert info == abi.AnchorInfo(receipt.block_timestamp, receipt.block_number, 42)
    assert embedded.anchored_at(root) == receipt.block_timestamp > 0
    assert embedded.anchored_at(leaf_value_for("never")) is None
    assert 40_000 < receipt.gas_used < 60_000


def test_reanchoring_a_root_is_a_noop_without_event(embedded: EmbeddedChainClient) -> None:
    root = leaf_value_for("round-2")
    first = embedded.anchor(root, 3)
    again = _raw_anchor(embedded, root, 99)
    assert again["status"] == 1
    assert again["logs"] == []
    assert embedded.anchor_info(root) == abi.AnchorInfo(
        first.block_timestamp, first.block_number, 3
    )


def test_only_the_owner_key_can_anchor(embedded: EmbeddedChainClient) -> None:
    stranger = Account.create()
    funding: dict[str, Any] = {
        "to": stranger.address,
        "value": 10**18,
        "gas": 21_000,
        "nonce": embedded.w3.eth.get_transaction_count(embedded._account.address),
        "chainId": embedded.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = embedded._account.sign_transaction(funding)
    embedded.w3.eth.send_raw_transaction(signed.raw_transaction)
    root = leaf_value_for("not yours")
    receipt = _raw_anchor(embedded, root, 1, key=stranger.key.hex())
    assert receipt["status"] == 0
    assert embedded.anchored_at(root) is None


@pytest.mark.parametrize(("root", "count"), [(bytes(32), 1), (b"\x01" * 32, 0)])
def test_zero_root_and_zero_leaf_count_revert(
    embedded: EmbeddedChainClient, root: bytes, count: int
) -> None:
    assert _raw_anchor(embedded, root, count)["status"] == 0


def test_on_chain_verify_agrees_with_oz_vectors(embedded: EmbeddedChainClient) -> None:
    cases = json.loads(VECTORS.read_text())["cases"]
    for case in (cases[0], cases[4], cases[11]):  # 1, 5 and 70 leaves
        root = bytes.fromhex(case["root"][2:])
        for leaf, proof in list(zip(case["leafHashes"], case["proofs"], strict=True))[:5]:
            path = [bytes.fromhex(p[2:]) for p in proof]
            leaf_b = bytes.fromhex(leaf[2:])
            assert embedded.verify_on_chain(root, leaf_b, path)
            assert not embedded.verify_on_chain(root, os.urandom(32), path)


def test_on_chain_verify_takes_the_leaf_hash_not_the_value(embedded: EmbeddedChainClient) -> None:
    values = [leaf_value_for(f"S{i}") for i in range(6)]
    tree = MerkleTree.of(values)
    assert embedded.verify_on_chain(tree.root, tree.leaf_hash(2), tree.proof(2))
    assert not embedded.verify_on_chain(tree.root, values[2], tree.proof(2))
    assert not embedded.verify_on_chain(tree.root, tree.leaf_hash(2), tree.proof(2)[:-1])

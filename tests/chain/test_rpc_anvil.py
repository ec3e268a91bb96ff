"""RpcChainClient against a real node (anvil), and a node that is down."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from chain import verify
from chain.canonical import document_hash
from chain.client import client_from_config
from chain.errors import ChainUnavailable, ConfirmationTimeout, TransactionFailed
from chain.merkle import MerkleTree, leaf_value_for
from chain.proof import build_bundle_from_trees
from chain.rounds import anchor_round, plan_round
from chain.rpc import RpcChainClient
from tests.chain.anvil import ANVIL_KEY, ANVIL_KEY_2, free_port


@pytest.fixture
def rpc_client(anvil_url: str, tmp_path: Path) -> RpcChainClient:
    client = client_from_config(anvil_url, ANVIL_KEY, str(tmp_path))
    assert isinstance(client, RpcChainClient)
    client.deploy_if_needed()
    return client


def test_deploy_is_recorded_and_reused(anvil_url: str, tmp_path: Path) -> None:
    first = RpcChainClient(anvil_url, ANVIL_KEY_2, tmp_path)
    address = first.deploy_if_needed()
    assert (tmp_path / "deployment-31337.json").exists()
    again = RpcChainClient(anvil_url, ANVIL_KEY_2, tmp_path)
    assert again.deploy_if_needed() == address == again.contract_address


def test_anchor_round_on_anvil_and_recover_it(rpc_client: RpcChainClient) -> None:
    values = [leaf_value_for(f"lot-doc-{i}") for i in range(5)]
    result = anchor_round(rpc_client, plan_round(values))
    assert result.sent
    receipt = result.receipt
    assert receipt.chain_id == 31337
    assert rpc_client.anchored_at(receipt.root) == receipt.block_timestamp
    assert rpc_client.find_anchor(receipt.root) == receipt
    again = anchor_round(rpc_client, plan_round(values))
    assert not again.sent and again.receipt == receipt
    assert rpc_client.wait_for_confirmations(receipt.tx_hash, 1) == receipt.block_number


def test_on_chain_verify_over_json_rpc(rpc_client: RpcChainClient) -> None:
    tree = MerkleTree.of([leaf_value_for(f"S{i}") for i in range(9)])
    assert rpc_client.verify_on_chain(tree.root, tree.leaf_hash(4), tree.proof(4))
    assert not rpc_client.verify_on_chain(tree.root, tree.leaf_hash(4), tree.proof(3))


def test_concurrent_workers_sharing_one_key_each_anchor_once(
    anvil_url: str, rpc_client: RpcChainClient, tmp_path: Path
) -> None:
    # Separate client objects share nothing in memory, like separate worker processes.
    workers = [RpcChainClient(anvil_url, ANVIL_KEY, tmp_path) for _ in range(3)]
    for worker in workers:
        worker.deploy_if_needed()
    roots = [[leaf_value_for(f"w{w}-r{r}") for r in range(3)] for w in range(3)]
    errors: list[BaseException] = []

    def run(worker: RpcChainClient, mine: list[bytes]) -> None:
        try:
            for root in mine:
                worker.anchor(root, 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(workers, roots, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert all(rpc_client.anchored_at(root) for mine in roots for root in mine)


def test_node_down_raises_chain_unavailable(tmp_path: Path) -> None:
    client = RpcChainClient(f"http://127.0.0.1:{free_port()}", ANVIL_KEY, tmp_path, timeout=2)
    assert not client.is_available()
    with pytest.raises(ChainUnavailable):
        client.deploy_if_needed()
    with pytest.raises(ChainUnavailable):
        client.chain_id  # noqa: B018


def test_a_key_that_does_not_own_the_contract_is_refused_before_signing(
    anvil_url: str, rpc_client: RpcChainClient, tmp_path: Path
) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    record = tmp_path / "deployment-31337.json"
    (other_dir / record.name).write_text(record.read_text())
    stranger = RpcChainClient(anvil_url, ANVIL_KEY_2, other_dir)
    with pytest.raises(TransactionFailed, match="NotOwner"):
        stranger.anchor(leaf_value_for("not mine"), 1)


def test_chain_verify_accepts_a_bundle_checked_against_anvil(
    anvil_url: str, rpc_client: RpcChainClient, tmp_path: Path
) -> None:
    serials = [f"AGT-{i}" for i in range(4)]
    stamps = MerkleTree.of([leaf_value_for(s) for s in serials])
    docs = [{"lot": f"L{i}", "stamp_root": "0x" + stamps.root.hex()} for i in range(2)]
    result = anchor_round(rpc_client, plan_round([document_hash(d) for d in docs]))
    bundle = build_bundle_from_trees(
        docs[0], "AGT-2", stamps, result.plan.tree, result.receipt, rpc_hint=anvil_url
    )
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert verify.main([str(path), "--rpc", anvil_url]) == 0


def test_waiting_for_more_confirmations_than_blocks_times_out(
    rpc_client: RpcChainClient,
) -> None:
    receipt = rpc_client.anchor(leaf_value_for("lonely"), 1)
    # anvil mines only on demand: nothing will ever bury this block 5 deep.
    with pytest.raises(ConfirmationTimeout):
        rpc_client.wait_for_confirmations(receipt.tx_hash, 5, timeout=0.3)
    with pytest.raises(ConfirmationTimeout):
        rpc_client.wait_for_confirmations("0x" + "00" * 32, 1, timeout=0.3)

"""The embedded chain persists across restarts and refuses a damaged store loudly."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chain.client import client_from_config
from chain.deployment import DeploymentRecord, DeploymentStore
from chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChainClient
from chain.errors import ChainError, ChainStoreCorrupted, ContractNotDeployed
from chain.merkle import leaf_value_for
from chain.web3_client import create_address

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_is_created_before_first_use(tmp_path: Path) -> None:
    client = client_from_config("embedded", None, str(tmp_path / "chain"))
    assert isinstance(client, EmbeddedChainClient)
    assert not (tmp_path / "chain").exists()
    assert client.chain_id == EMBEDDED_CHAIN_ID
    assert (tmp_path / "chain" / "chain.sqlite3").exists()
    client.close()


def test_anchors_survive_closing_and_reopening(tmp_path: Path) -> None:
    first = EmbeddedChainClient(tmp_path / "chain")
    address = first.deploy_if_needed()
    receipt = first.anchor(leaf_value_for("round-1"), 7)
    first.close()

    reopened = EmbeddedChainClient(tmp_path / "chain")
    assert reopened.deploy_if_needed() == address  # no second deployment
    assert reopened.find_anchor(receipt.root) == receipt
    later = reopened.anchor(leaf_value_for("round-2"), 1)
    assert later.block_number == receipt.block_number + 1
    assert later.block_timestamp > receipt.block_timestamp
    reopened.close()


def test_anchoring_the_same_root_twice_returns_the_first_receipt(
    embedded: EmbeddedChainClient,
) -> None:
    root = leaf_value_for("round-x")
    first = embedded.anchor(root, 4)
    head = embedded.w3.eth.block_number
    assert embedded.anchor(root, 4) == first
    assert embedded.w3.eth.block_number == head  # no transaction was sent


def test_block_timestamp_is_the_send_time_even_after_an_idle_hour(
    embedded: EmbeddedChainClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from types import SimpleNamespace

    later = int(time.time()) + 3600
    monkeypatch.setattr("chain.embedded.time", SimpleNamespace(time=lambda: later))
    receipt = embedded.anchor(leaf_value_for("after lunch"), 1)
    assert receipt.block_timestamp == later
    assert embedded.anchored_at(receipt.root) == later


def test_service_key_is_private_to_the_owner(embedded: EmbeddedChainClient) -> None:
    mode = stat.S_IMODE(os.stat(embedded.data_dir / "service.key").st_mode)
    assert mode == 0o600


def test_a_second_process_cannot_open_the_same_store(embedded: EmbeddedChainClient) -> None:
    code = (
        "import sys; from chain.embedded import EmbeddedChainClient; "
        "c = EmbeddedChainClient(sys.argv[1]); print(c.is_available()); c.chain_id"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(embedded.data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout.strip() == "False"
    assert "ChainUnavailable" in done.stderr and "open in another process" in done.stderr


def test_clients_of_one_directory_in_one_process_share_the_chain(
    embedded: EmbeddedChainClient,
) -> None:
    twin = EmbeddedChainClient(embedded.data_dir)
    receipt = twin.anchor(leaf_value_for("from the twin"), 2)
    assert embedded.find_anchor(receipt.root) == receipt
    twin.close()
    assert embedded.anchored_at(receipt.root) == receipt.block_timestamp  # still open


def _closed_chain(tmp_path: Path) -> Path:
    client = EmbeddedChainClient(tmp_path / "chain")
    client.deploy_if_needed()
    client.anchor(leaf_value_for("r"), 1)
    client.close()
    return tmp_path / "chain"


def _expect_corrupted(data_dir: Path) -> str:
    client = EmbeddedChainClient(data_dir)
    with pytest.raises(ChainStoreCorrupted) as info:
        client.find_anchor(leaf_value_for("r"))
    assert not client.is_available()
    message = str(info.value)
    assert "restore" in message and str(data_dir) in message
    return message


def test_truncated_store_raises_with_recovery_advice(tmp_path: Path) -> None:
    data_dir = _closed_chain(tmp_path)
    db = data_dir / "chain.sqlite3"
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    _expect_corrupted(data_dir)


def test_garbage_store_raises_with_recovery_advice(tmp_path: Path) -> None:
    data_dir = _closed_chain(tmp_path)
    (data_dir / "chain.sqlite3").write_bytes(os.urandom(8192))
    _expect_corrupted(data_dir)


def test_missing_store_next_to_an_existing_key_is_not_silently_recreated(tmp_path: Path) -> None:
    data_dir = _closed_chain(tmp_path)
    (data_dir / "chain.sqlite3").unlink()
    assert "missing" in _expect_corrupted(data_dir)
    assert not (data_dir / "chain.sqlite3").exists()


def test_a_foreign_service_key_is_refused(tmp_path: Path) -> None:
    data_dir = _closed_chain(tmp_path)
    (data_dir / "service.key").write_text("0x" + "11" * 32)
    assert "does not belong" in _expect_corrupted(data_dir)


def test_deployment_sent_before_a_crash_is_adopted_not_repeated(tmp_path: Path) -> None:
    client = EmbeddedChainClient(tmp_path / "chain")
    address = client.deploy_if_needed()
    store = DeploymentStore(tmp_path / "chain" / "deployment.json")
    record = store.load()
    assert record is not None and record.confirmed
    # Simulate a crash after sending the deployment but before confirming the record.
    store.save(replace(record, confirmed=False))
    assert client.contract_address is None
    nonce = client.w3.eth.get_transaction_count(client._account.address)
    assert client.deploy_if_needed() == address
    assert client.w3.eth.get_transaction_count(client._account.address) == nonce
    client.close()


def test_contract_missing_at_a_confirmed_address_is_an_error(tmp_path: Path) -> None:
    client = EmbeddedChainClient(tmp_path / "chain")
    client.deploy_if_needed()
    store = DeploymentStore(tmp_path / "chain" / "deployment.json")
    record = store.load()
    assert record is not None
    store.save(replace(record, address="0x" + "12" * 20))
    with pytest.raises(ContractNotDeployed):
        client.deploy_if_needed()
    client.close()


def test_anchoring_before_deployment_is_refused(tmp_path: Path) -> None:
    client = EmbeddedChainClient(tmp_path / "chain")
    with pytest.raises(ContractNotDeployed):
        client.anchor(leaf_value_for("r"), 1)
    client.close()


@pytest.mark.parametrize(("root", "count"), [(bytes(32), 1), (b"\x01" * 31, 1), (b"\x01" * 32, 0)])
def test_invalid_roots_are_refused_before_sending(
    embedded: EmbeddedChainClient, root: bytes, count: int
) -> None:
    head = embedded.w3.eth.block_number
    with pytest.raises(ChainError):
        embedded.anchor(root, count)
    assert embedded.w3.eth.block_number == head


def test_factory_rejects_unknown_urls_and_rpc_without_key(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="CHAIN_URL"):
        client_from_config("ws://node", None, str(tmp_path))
    with pytest.raises(ChainError, match="CHAIN_PRIVATE_KEY"):
        client_from_config("http://127.0.0.1:8545", None, str(tmp_path))
    with pytest.raises(ChainError, match="private key"):
        client_from_config("http://127.0.0.1:8545", "0x1234", str(tmp_path))


def test_deployment_recorded_but_never_sent_is_sent_at_the_recorded_nonce(tmp_path: Path) -> None:
    client = EmbeddedChainClient(tmp_path / "chain")
    nonce = client.w3.eth.get_transaction_count(client._account.address)
    genesis = "0x" + bytes(client.w3.eth.get_block(0)["hash"]).hex()
    planned = create_address(client.address, nonce)
    store = DeploymentStore(tmp_path / "chain" / "deployment.json")
    store.save(DeploymentRecord(planned, client.chain_id, genesis, client.address, nonce))
    assert client.deploy_if_needed() == planned
    assert client.contract_address == planned
    client.close()

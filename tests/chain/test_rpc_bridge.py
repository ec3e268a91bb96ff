"""The read-only JSON-RPC bridge over the embedded chain, and its Flask mounting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import chain
from chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChainClient
from chain.errors import ChainError
from chain.rpc_bridge import handle_jsonrpc
from chain.testing import FakeChainClient
from tests.chain.conftest import AnchoredLot

ROOT = Path(__file__).resolve().parents[2]


def _req(method: str, params: list[Any] | None = None, rid: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}


def _one(client: Any, payload: Any) -> dict[str, Any]:
    reply = handle_jsonrpc(client, payload)
    assert isinstance(reply, dict)
    return reply


def test_read_methods_answer_in_wire_format(anchored_lot: AnchoredLot) -> None:
    client = anchored_lot.client
    receipt = anchored_lot.round.receipt
    assert _one(client, _req("eth_chainId"))["result"] == hex(EMBEDDED_CHAIN_ID)
    head = int(_one(client, _req("eth_blockNumber"))["result"], 16)
    assert head >= receipt.block_number
    tx = _one(client, _req("eth_getTransactionReceipt", [receipt.tx_hash]))["result"]
    assert tx["blockNumber"] == hex(receipt.block_number) and tx["status"] == "0x1"
    assert tx["logs"][0]["topics"][1] == "0x" + receipt.root.hex()
    block = _one(client, _req("eth_getBlockByNumber", [hex(receipt.block_number), False]))
    assert int(block["result"]["timestamp"], 16) == receipt.block_timestamp
    code = _one(client, _req("eth_getCode", [receipt.contract_address, "latest"]))
    assert len(code["result"]) > 100


def test_unknown_transaction_is_null_not_an_error(anchored_lot: AnchoredLot) -> None:
    reply = handle_jsonrpc(
        anchored_lot.client, _req("eth_getTransactionReceipt", ["0x" + "0" * 64])
    )
    assert reply == {"jsonrpc": "2.0", "id": 1, "result": None}


def test_writes_and_unknown_methods_are_refused(anchored_lot: AnchoredLot) -> None:
    for method in ("eth_sendRawTransaction", "eth_sendTransaction", "evm_mine", "eth_accounts"):
        assert _one(anchored_lot.client, _req(method))["error"]["code"] == -32601


def test_batches_and_invalid_requests(anchored_lot: AnchoredLot) -> None:
    replies = handle_jsonrpc(anchored_lot.client, [_req("eth_chainId", rid=1), {"id": 2}])
    assert isinstance(replies, list)
    assert replies[0]["result"] == hex(EMBEDDED_CHAIN_ID)
    assert replies[1]["error"]["code"] == -32600
    assert _one(anchored_lot.client, [])["error"]["code"] == -32600
    assert _one(anchored_lot.client, "eth_chainId")["error"]["code"] == -32600
    bad = _one(anchored_lot.client, _req("eth_getCode", ["not an address", "latest"]))
    assert bad["error"]["code"] == -32602


def test_a_client_without_a_bridge_answers_with_an_error() -> None:
    reply = _one(FakeChainClient(), _req("eth_chainId"))
    assert reply["error"]["code"] == -32000


def _app(tmp_path: Path, **config: str) -> Flask:
    app = Flask("t", instance_path=str(tmp_path / "instance"))
    app.config.update(config)
    chain.init_app(app)
    return app


def test_init_app_mounts_the_bridge_for_the_embedded_chain(tmp_path: Path) -> None:
    app = _app(tmp_path, CHAIN_URL="embedded")
    client = app.extensions["chain"]
    assert isinstance(client, EmbeddedChainClient)
    assert "chain_rpc" in app.blueprints
    assert not (tmp_path / "instance" / "chain").exists()  # nothing opened yet
    web = app.test_client()
    reply = web.post("/chain/rpc", json=_req("eth_chainId"))
    assert reply.get_json()["result"] == hex(EMBEDDED_CHAIN_ID)
    assert client.data_dir == tmp_path / "instance" / "chain"
    not_json = web.post("/chain/rpc", data=b"{", content_type="application/json")
    assert not_json.get_json()["error"]["code"] == -32700
    assert web.get("/chain/rpc").status_code == 405
    client.close()


def test_init_app_with_a_json_rpc_url_has_no_bridge(tmp_path: Path) -> None:
    key = "0x" + "22" * 32
    app = _app(tmp_path, CHAIN_URL="http://127.0.0.1:1", CHAIN_PRIVATE_KEY=key)
    assert "chain_rpc" not in app.blueprints
    assert not app.extensions["chain"].embedded
    with pytest.raises(ChainError):
        _app(tmp_path, CHAIN_URL="http://127.0.0.1:1")


def test_importing_chain_merkle_stays_light() -> None:
    code = (
        "import sys, chain, chain.merkle, chain.canonical, chain.rounds, chain.testing, "
        "chain.proof; "
        "heavy = [m for m in ('web3', 'flask', 'eth', 'eth_tester') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr

"""The read-only JSON-RPC bridge over the embedded chain, and its Flask mounting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import chain
from chain import abi
from chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChainClient
from chain.errors import CallTimedOut, ChainError
from chain.rpc_bridge import CHAIN_BUSY, LIMIT_EXCEEDED, RpcLimits, handle_jsonrpc
from chain.testing import FakeChainClient
from chain.time_limit import call_with_time_limit
from tests.chain.conftest import AnchoredLot
from tests.chain.locks import held_by_another_thread

ROOT = Path(__file__).resolve().parents[2]


def _req(method: str, params: list[Any] | None = None, rid: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}


#: Tests not about time get plenty of it: a loaded machine must not fail them.
AMPLE_TIME = RpcLimits(time_limit=30)


def _one(client: Any, payload: Any, limits: RpcLimits = AMPLE_TIME) -> dict[str, Any]:
    reply = handle_jsonrpc(client, payload, limits)
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
        anchored_lot.client, _req("eth_getTransactionReceipt", ["0x" + "0" * 64]), AMPLE_TIME
    )
    assert reply == {"jsonrpc": "2.0", "id": 1, "result": None}


def test_writes_and_unknown_methods_are_refused(anchored_lot: AnchoredLot) -> None:
    for method in ("eth_sendRawTransaction", "eth_sendTransaction", "evm_mine", "eth_accounts"):
        assert _one(anchored_lot.client, _req(method))["error"]["code"] == -32601


def test_a_batch_above_the_cap_is_refused_whole(anchored_lot: AnchoredLot) -> None:
    batch = [_req("eth_chainId", rid=n) for n in range(11)]
    reply = _one(anchored_lot.client, batch)
    assert reply["error"] == {"code": -32600, "message": "a batch must hold 1 to 10 requests"}
    replies = handle_jsonrpc(anchored_lot.client, batch[:10], AMPLE_TIME)
    assert [r["result"] for r in replies] == [hex(EMBEDDED_CHAIN_ID)] * 10  # type: ignore[index]


def test_batches_and_invalid_requests(anchored_lot: AnchoredLot) -> None:
    replies = handle_jsonrpc(
        anchored_lot.client, [_req("eth_chainId", rid=1), {"id": 2}], AMPLE_TIME
    )
    assert isinstance(replies, list)
    assert replies[0]["result"] == hex(EMBEDDED_CHAIN_ID)
    assert replies[1]["error"]["code"] == -32600
    assert _one(anchored_lot.client, [])["error"]["code"] == -32600
    assert _one(anchored_lot.client, "eth_chainId")["error"]["code"] == -32600
    bad = _one(anchored_lot.client, _req("eth_getCode", ["not an address", "latest"]))
    assert bad["error"]["code"] == -32602


def _verify_call(lot: AnchoredLot, depth: int, gas: int | None = None) -> dict[str, Any]:
    siblings = [bytes([n % 256]) * 32 for n in range(depth)]
    data = abi.encode_verify(lot.round.plan.tree.root, b"\x01" * 32, siblings)
    call: dict[str, Any] = {"to": lot.round.receipt.contract_address, "data": "0x" + data.hex()}
    if gas is not None:
        call["gas"] = hex(gas)
    return _req("eth_call", [call, "latest"])


def test_verify_of_a_64_deep_proof_runs_within_the_gas_cap(anchored_lot: AnchoredLot) -> None:
    cap = RpcLimits().gas_cap
    for gas in (None, cap):
        reply = _one(anchored_lot.client, _verify_call(anchored_lot, 64, gas))
        assert reply["result"] == "0x" + "00" * 32, reply  # false: not a real proof


def test_eth_call_asking_for_more_gas_than_the_cap_is_refused(anchored_lot: AnchoredLot) -> None:
    reply = _one(anchored_lot.client, _verify_call(anchored_lot, 1, gas=10**9))
    assert reply["error"] == {
        "code": LIMIT_EXCEEDED,
        "message": "gas 1000000000 is above this endpoint's cap of 1000000",
    }
    tight = _one(
        anchored_lot.client, _verify_call(anchored_lot, 1, gas=10**9), RpcLimits(1, time_limit=30)
    )
    assert tight["error"]["message"].endswith("cap of 1")
    bad = _one(anchored_lot.client, _verify_call(anchored_lot, 1, gas=-5))
    assert bad["error"] == {"code": LIMIT_EXCEEDED, "message": "gas must be a hex quantity"}


class _RecordingClient:
    address = None

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[Any], dict[str, Any]]] = []

    def request(self, method: str, params: list[Any], **bounds: Any) -> Any:
        self.seen.append((method, params, bounds))
        return b""


def test_an_eth_call_without_gas_runs_with_the_cap_and_within_bounds() -> None:
    client = _RecordingClient()
    loop = _req("eth_call", [{"data": "0x5b600056"}, "latest"])
    reply = _one(client, loop, RpcLimits(gas_cap=300_000, time_limit=0.75, lock_wait=1.5))
    assert reply["result"] == "0x"
    [(method, params, bounds)] = client.seen
    assert params[0] == {"data": "0x5b600056", "gas": hex(300_000)}
    assert bounds["lock_wait"] == 1.5 and 0 < bounds["time_limit"] <= 0.75


def test_an_endless_loop_ends_at_the_gas_cap(anchored_lot: AnchoredLot) -> None:
    reply = _one(anchored_lot.client, _req("eth_call", [{"data": "0x5b600056"}, "latest"]))
    assert reply["error"]["code"] == -32602 and "Out of gas" in reply["error"]["message"]


def _blake2f(rounds: int) -> dict[str, Any]:
    # The BLAKE2 precompile costs 1 gas a round: cheap in gas, seconds of Python in py-evm.
    data = rounds.to_bytes(4, "big") + bytes(208) + b"\x01"
    precompile = "0x0000000000000000000000000000000000000009"
    return _req("eth_call", [{"to": precompile, "data": "0x" + data.hex()}, "latest"])


def test_a_call_cheap_in_gas_but_slow_is_stopped_at_the_time_limit(
    anchored_lot: AnchoredLot,
) -> None:
    limits = RpcLimits(time_limit=0.2)
    replies = handle_jsonrpc(anchored_lot.client, [_blake2f(900_000), _blake2f(1)], limits)
    assert isinstance(replies, list)
    assert replies[0]["error"] == {
        "code": LIMIT_EXCEEDED,
        "message": "stopped: this request ran longer than its 0.2 s on the chain",
    }
    # the batch shares one time budget: nothing more runs once it is spent
    assert replies[1]["error"] == {
        "code": LIMIT_EXCEEDED,
        "message": "not run: this request used up its 0.2 s on the chain",
    }
    assert _one(anchored_lot.client, _req("eth_chainId"))["result"] == hex(EMBEDDED_CHAIN_ID)


def test_time_limit_stops_python_work_and_lets_quick_work_finish() -> None:
    def spin() -> None:
        while True:
            pass

    with pytest.raises(CallTimedOut):
        call_with_time_limit(spin, 0.05)
    assert call_with_time_limit(lambda: 42, 5.0) == 42
    assert call_with_time_limit(lambda: 7, None) == 7


def test_an_expiry_a_callback_swallowed_is_raised_again() -> None:
    """The expiry can arrive while the bounded thread runs a weakref callback, where Python
    swallows it ("Exception ignored in …"): the call is still stopped, at once, and nothing
    is reported as an unraisable error (pytest fails the test if it is)."""
    import time
    import weakref

    def callback(_ref: object) -> None:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # the expiry lands here, inside the callback
            pass

    def work() -> None:
        box = type("Box", (), {})()
        ref = weakref.ref(box, callback)
        del box  # runs the callback
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # unbounded, unless the expiry comes again
            pass
        assert ref() is None

    started = time.monotonic()
    with pytest.raises(CallTimedOut):
        call_with_time_limit(work, 0.05)
    assert time.monotonic() - started < 5  # stopped, not run to the end of the 10 s loop


def test_a_read_gives_up_when_anchoring_holds_the_chain(anchored_lot: AnchoredLot) -> None:
    client = anchored_lot.client
    with held_by_another_thread(client._lock):
        reply = _one(client, _req("eth_blockNumber"), RpcLimits(lock_wait=0.05))
    assert reply["error"]["code"] == CHAIN_BUSY
    assert reply["error"]["message"].startswith("chain busy")
    assert "result" in _one(client, _req("eth_blockNumber"))


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


def test_the_route_answers_503_while_the_chain_stays_busy(tmp_path: Path) -> None:
    app = _app(tmp_path, CHAIN_URL="embedded", CHAIN_RPC_LOCK_WAIT="0.05")
    web, client = app.test_client(), app.extensions["chain"]
    assert web.post("/chain/rpc", json=_req("eth_chainId")).status_code == 200
    with held_by_another_thread(client._lock):
        busy = web.post("/chain/rpc", json=[_req("eth_chainId"), _req("eth_blockNumber")])
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert [r["error"]["code"] for r in busy.get_json()] == [CHAIN_BUSY, CHAIN_BUSY]
    assert web.post("/chain/rpc", json=_req("eth_blockNumber")).status_code == 200
    client.close()


def test_the_route_applies_the_configured_limits(tmp_path: Path) -> None:
    app = _app(tmp_path, CHAIN_URL="embedded", CHAIN_RPC_MAX_BATCH="2", CHAIN_RPC_GAS_CAP="500")
    web = app.test_client()
    batch = web.post("/chain/rpc", json=[_req("eth_chainId")] * 3).get_json()
    assert batch["error"]["message"] == "a batch must hold 1 to 2 requests"
    call = _req("eth_call", [{"data": "0x00", "gas": hex(501)}, "latest"])
    refused = web.post("/chain/rpc", json=call).get_json()
    assert refused["error"]["message"] == "gas 501 is above this endpoint's cap of 500"
    app.extensions["chain"].close()


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

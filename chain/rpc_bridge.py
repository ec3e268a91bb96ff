"""A read-only JSON-RPC endpoint over the embedded chain, so outsiders can run chain.verify."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chain.client import ChainClient
from chain.errors import CallTimedOut, ChainBusy, ChainError, ChainUnavailable

#: The methods chain.verify (and a careful human with curl) needs; nothing that writes.
ALLOWED_METHODS = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_call",
        "eth_getTransactionReceipt",
        "eth_getBlockByNumber",
        "eth_getCode",
    }
)
#: Methods that run EVM code, so take a gas limit (eth_estimateGas is not allowed at all,
#: but should it ever be, the cap already holds for it).
GAS_CAPPED_METHODS = frozenset({"eth_call", "eth_estimateGas"})
#: JSON-RPC error codes beyond the standard ones (EIP-1474's meanings).
CHAIN_UNAVAILABLE = -32000
CHAIN_BUSY = -32002
LIMIT_EXCEEDED = -32005


@dataclass(frozen=True)
class RpcLimits:
    """What one request to the bridge may ask of the embedded chain.

    ``gas_cap`` lets the contract's ``verify`` check a 64-deep proof (~84,000 gas) with
    ample room while an endless loop stops after ~0.25 s; ``time_limit`` bounds calls
    that are cheap in gas but slow in py-evm (the BLAKE2 and pairing precompiles).
    """

    gas_cap: int = 1_000_000
    max_batch: int = 10
    #: Seconds of chain work one HTTP request (a whole batch) may use.
    time_limit: float = 1.0
    #: Seconds one request waits for the chain (busy anchoring) before "chain busy".
    lock_wait: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RpcLimits:
        """Read ``CHAIN_RPC_GAS_CAP``, ``_MAX_BATCH``, ``_TIME_LIMIT``, ``_LOCK_WAIT``."""
        default = cls()
        return cls(
            gas_cap=int(config.get("CHAIN_RPC_GAS_CAP", default.gas_cap)),
            max_batch=int(config.get("CHAIN_RPC_MAX_BATCH", default.max_batch)),
            time_limit=float(config.get("CHAIN_RPC_TIME_LIMIT", default.time_limit)),
            lock_wait=float(config.get("CHAIN_RPC_LOCK_WAIT", default.lock_wait)),
        )


def handle_jsonrpc(
    client: ChainClient, payload: Any, limits: RpcLimits | None = None
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer a JSON-RPC 2.0 request or batch from the embedded chain.

    Args:
        client: an embedded client (anything with ``request(method, params, ...)``).
        payload: the decoded request body: one request object or a list of them.
        limits: the bounds on gas, batch size, time and waiting (defaults: RpcLimits()).

    Returns:
        The response object, or the list of responses for a batch. Errors are JSON-RPC
        error objects (-32600 invalid request or batch size, -32601 method not allowed,
        -32602 bad params or a failed call, -32000 chain unavailable, -32002 chain busy,
        -32005 a limit exceeded: gas above the cap, out of time); it never raises for bad
        input. A ``gas`` above the cap is refused, not lowered; an ``eth_call`` without
        one runs with the cap.
    """
    limits = limits or RpcLimits()
    deadline = time.monotonic() + limits.time_limit
    if isinstance(payload, list):
        if not payload or len(payload) > limits.max_batch:
            message = f"a batch must hold 1 to {limits.max_batch} requests"
            return _error(None, -32600, message)
        return [_handle_one(client, item, limits, deadline) for item in payload]
    return _handle_one(client, payload, limits, deadline)


def _handle_one(
    client: ChainClient, request: Any, limits: RpcLimits, deadline: float
) -> dict[str, Any]:
    if not isinstance(request, Mapping) or not isinstance(request.get("method"), str):
        return _error(None, -32600, "invalid request")
    rid = request.get("id")
    method, params = request["method"], request.get("params", [])
    if method not in ALLOWED_METHODS:
        return _error(rid, -32601, f"method {method} is not available on this read-only endpoint")
    if not isinstance(params, list):
        return _error(rid, -32602, "params must be an array")
    request_fn = getattr(client, "request", None)
    if request_fn is None:
        return _error(rid, CHAIN_UNAVAILABLE, "this chain client has no JSON-RPC bridge")
    if method in GAS_CAPPED_METHODS:
        params, refusal = _capped_gas(params, limits.gas_cap)
        if refusal:
            return _error(rid, LIMIT_EXCEEDED, refusal)
    time_left = deadline - time.monotonic()
    if time_left <= 0:
        message = f"not run: this request used up its {limits.time_limit:g} s on the chain"
        return _error(rid, LIMIT_EXCEEDED, message)
    params = _with_caller(client, method, params)
    return _answer(
        rid,
        lambda: request_fn(method, params, lock_wait=limits.lock_wait, time_limit=time_left),
        limits.time_limit,
    )


def _answer(rid: Any, run: Callable[[], Any], time_limit: float) -> dict[str, Any]:
    try:
        result = run()
    except ChainBusy as exc:
        return _error(rid, CHAIN_BUSY, str(exc))
    except CallTimedOut:
        message = f"stopped: this request ran longer than its {time_limit:g} s on the chain"
        return _error(rid, LIMIT_EXCEEDED, message)
    except ChainUnavailable as exc:
        return _error(rid, CHAIN_UNAVAILABLE, str(exc))
    except ChainError as exc:  # the chain refused the params (bad address, reverted call)
        return _error(rid, -32602, str(exc))
    except Exception as exc:  # noqa: BLE001 - untrusted input must never crash the route
        if type(exc).__name__ in ("TransactionNotFound", "BlockNotFound"):
            return {"jsonrpc": "2.0", "id": rid, "result": None}
        return _error(rid, -32602, f"{type(exc).__name__}: {exc}")
    return {"jsonrpc": "2.0", "id": rid, "result": to_json(result)}


def _capped_gas(params: list[Any], cap: int) -> tuple[list[Any], str | None]:
    """Params with ``gas`` set to ``cap`` when absent, or why the request is refused."""
    if not params or not isinstance(params[0], Mapping):
        return params, None  # web3's own validation answers malformed params
    tx = params[0]
    if "gas" not in tx:
        return [{**tx, "gas": hex(cap)}, *params[1:]], None
    gas = _quantity(tx["gas"])
    if gas is None:
        return params, "gas must be a hex quantity"
    if gas > cap:
        return params, f"gas {gas} is above this endpoint's cap of {cap}"
    return params, None


def _quantity(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) <= 66:
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


def _with_caller(client: ChainClient, method: str, params: list[Any]) -> list[Any]:
    # eth-tester checks the caller can pay for an eth_call's gas; a verifier sends none.
    if method == "eth_call" and params and isinstance(params[0], dict) and "from" not in params[0]:
        address = getattr(client, "address", None)
        if address:
            return [{**params[0], "from": address}, *params[1:]]
    return params


def to_json(value: Any) -> Any:
    """Convert web3-typed results to JSON-RPC wire form (ints → hex quantities, bytes → hex)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__} as JSON-RPC")


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}

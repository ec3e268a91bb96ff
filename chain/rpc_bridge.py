"""A read-only JSON-RPC endpoint over the embedded chain, so outsiders can run chain.verify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chain.client import ChainClient
from chain.errors import ChainError, ChainUnavailable

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
MAX_BATCH = 20


def handle_jsonrpc(client: ChainClient, payload: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer a JSON-RPC 2.0 request or batch from the embedded chain.

    Args:
        client: an embedded client (anything with ``request(method, params)``).
        payload: the decoded request body: one request object or a list of them.

    Returns:
        The response object, or the list of responses for a batch. Errors are JSON-RPC
        error objects (-32600 invalid request, -32601 method not allowed, -32602 bad
        params or a failed call, -32000 chain unavailable); it never raises for bad input.
    """
    if isinstance(payload, list):
        if not payload or len(payload) > MAX_BATCH:
            return _error(None, -32600, f"a batch must hold 1 to {MAX_BATCH} requests")
        return [_handle_one(client, item) for item in payload]
    return _handle_one(client, payload)


def _handle_one(client: ChainClient, request: Any) -> dict[str, Any]:
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
        return _error(rid, -32000, "this chain client has no JSON-RPC bridge")
    try:
        result = request_fn(method, _with_caller(client, method, params))
    except ChainUnavailable as exc:
        return _error(rid, -32000, str(exc))
    except ChainError as exc:  # the chain refused the params (bad address, reverted call)
        return _error(rid, -32602, str(exc))
    except Exception as exc:  # noqa: BLE001 - untrusted input must never crash the route
        if type(exc).__name__ in ("TransactionNotFound", "BlockNotFound"):
            return {"jsonrpc": "2.0", "id": rid, "result": None}
        return _error(rid, -32602, f"{type(exc).__name__}: {exc}")
    return {"jsonrpc": "2.0", "id": rid, "result": to_json(result)}


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

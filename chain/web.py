"""The Flask side of chain: POST /chain/rpc, a read-only JSON-RPC view of the embedded chain."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import TooManyRequests

from chain import client_of
from chain.rpc_bridge import CHAIN_BUSY, LIMIT_EXCEEDED, RpcLimits, handle_jsonrpc

MAX_BODY = 64 * 1024
#: Seconds a caller told "chain busy" (HTTP 503) should wait before trying again.
BUSY_RETRY_AFTER = 2


def create_rpc_blueprint(limits: RpcLimits | None = None) -> Blueprint:
    """Return the ``chain_rpc`` blueprint serving ``POST /chain/rpc``.

    It answers with the app's client (:func:`chain.client_of`), within ``limits``
    (gas cap, batch size, time, waiting for the chain; ``RpcLimits()`` by default). A
    request that finds the chain busy is answered 503 with ``Retry-After``. CSRF
    exemption, rate limiting and CORS are the application's decisions; a rate limit's
    429 is answered here as a JSON-RPC error.
    """
    bound = limits or RpcLimits()
    blueprint = Blueprint("chain_rpc", __name__)

    def rpc() -> Response:
        return _rpc(bound)

    blueprint.add_url_rule("/chain/rpc", "rpc", rpc, methods=["POST"])
    blueprint.register_error_handler(429, _too_many)
    return blueprint


def _rpc(limits: RpcLimits) -> Response:
    request.max_content_length = MAX_BODY  # holds while reading, so for chunked bodies too
    if (request.content_length or 0) > MAX_BODY:
        return _reply(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "too large"}}
        )
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        error = {"code": -32700, "message": "parse error: the body is not JSON"}
        return _reply({"jsonrpc": "2.0", "id": None, "error": error})
    client = client_of(current_app)
    reply = handle_jsonrpc(client, payload, limits)
    if any(_code(one) == CHAIN_BUSY for one in (reply if isinstance(reply, list) else [reply])):
        return _reply(reply, 503, BUSY_RETRY_AFTER)
    return _reply(reply)


def _too_many(error: TooManyRequests) -> Response:
    retry_after = _window_seconds(error)
    message = f"rate limit exceeded ({error.description}); retry after {retry_after} s"
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": LIMIT_EXCEEDED, "message": message}}
    return _reply(body, 429, retry_after)


def _window_seconds(error: TooManyRequests) -> int:
    # Flask-Limiter's error carries the breached limit; a full window is a safe wait.
    item = getattr(getattr(error, "limit", None), "limit", None)
    get_expiry = getattr(item, "get_expiry", None)
    return int(get_expiry()) if callable(get_expiry) else 60


def _code(reply: dict[str, object]) -> object:
    error = reply.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _reply(body: object, status: int = 200, retry_after: int | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response

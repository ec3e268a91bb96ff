"""The Flask side of chain: POST /chain/rpc, a read-only JSON-RPC view of the embedded chain."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from chain.client import ChainClient
from chain.rpc_bridge import handle_jsonrpc

MAX_BODY = 64 * 1024


def create_rpc_blueprint() -> Blueprint:
    """Return the ``chain_rpc`` blueprint serving ``POST /chain/rpc``.

    It answers with the client stored at ``app.extensions["chain"]``. CSRF exemption,
    rate limiting and CORS are the application's decisions.
    """
    blueprint = Blueprint("chain_rpc", __name__)
    blueprint.add_url_rule("/chain/rpc", "rpc", _rpc, methods=["POST"])
    return blueprint


def _rpc() -> Response:
    if (request.content_length or 0) > MAX_BODY:
        return _reply(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "too large"}}
        )
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        error = {"code": -32700, "message": "parse error: the body is not JSON"}
        return _reply({"jsonrpc": "2.0", "id": None, "error": error})
    client: ChainClient = current_app.extensions["chain"]
    return _reply(handle_jsonrpc(client, payload))


def _reply(body: object) -> Response:
    return jsonify(body)

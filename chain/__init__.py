"""Anchoring of opaque 32-byte leaves on an EVM chain: hashing, Merkle trees, clients, proofs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from chain.client import ChainClient

#: Where ``init_app`` keeps the chain client in ``app.extensions``.
EXTENSION = "chain"


def init_app(app: Flask) -> None:
    """Build the configured chain client and register the chain's routes.

    Reads ``CHAIN_URL`` (``"embedded"`` by default, or an http(s) JSON-RPC URL) and
    ``CHAIN_PRIVATE_KEY`` from ``app.config``; the embedded chain lives in
    ``<instance_path>/chain``. Nothing connects here: the client opens the chain on first
    use. The client is kept for :func:`client_of`; with the embedded chain the
    read-only JSON-RPC bridge is registered at ``POST /chain/rpc`` (blueprint
    ``chain_rpc``) so ``python -m chain.verify`` can check bundles against it, within the
    ``CHAIN_RPC_*`` limits (see :class:`chain.rpc_bridge.RpcLimits`).

    Raises:
        ChainError: an unusable ``CHAIN_URL`` or a JSON-RPC URL without a private key.
    """
    from chain.client import client_from_config

    client = client_from_config(
        app.config.get("CHAIN_URL", "embedded"),
        app.config.get("CHAIN_PRIVATE_KEY"),
        os.path.join(app.instance_path, "chain"),
    )
    app.extensions[EXTENSION] = client
    if client.embedded:
        from chain.rpc_bridge import RpcLimits
        from chain.web import create_rpc_blueprint

        app.register_blueprint(create_rpc_blueprint(RpcLimits.from_config(app.config)))


def client_of(app: Flask) -> ChainClient:
    """The chain client ``init_app`` built for ``app``."""
    client: ChainClient = app.extensions[EXTENSION]
    return client

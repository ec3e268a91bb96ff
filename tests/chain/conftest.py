"""Fixtures for chain tests: embedded chains, a JSON-RPC bridge server, anvil."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from chain.canonical import document_hash
from chain.embedded import EmbeddedChainClient
from chain.merkle import MerkleTree, leaf_value_for
from chain.proof import build_bundle_from_trees
from chain.rounds import RoundResult, anchor_round, plan_round
from chain.rpc_bridge import handle_jsonrpc
from tests.chain.anvil import find_anvil, running_anvil


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedChainClient]:
    """A fresh embedded chain with the anchor contract deployed."""
    client = EmbeddedChainClient(tmp_path / "chain")
    client.deploy_if_needed()
    yield client
    client.close()


@dataclass
class AnchoredLot:
    """A lot whose document went through a real anchoring round."""

    client: EmbeddedChainClient
    serials: list[str]
    stamp_tree: MerkleTree
    documents: list[dict[str, Any]]
    round: RoundResult
    bundle: dict[str, Any]


@pytest.fixture(scope="session")
def anchored_lot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnchoredLot]:
    """One embedded chain for the session, with a round of 3 lots anchored on it."""
    client = EmbeddedChainClient(tmp_path_factory.mktemp("shared") / "chain")
    client.deploy_if_needed()
    serials = [f"AGT-LA-2024-{i:05d}" for i in range(1, 26)]
    stamp_tree = MerkleTree.of([leaf_value_for(s) for s in serials])
    documents = [
        {
            "lot": f"LOT-{n}",
            "product": "Thanh Long ruot do",
            "weight_kg": 120 + n,
            "stamp_root": "0x" + stamp_tree.root.hex(),
        }
        for n in range(3)
    ]
    result = anchor_round(client, plan_round([document_hash(d) for d in documents]))
    bundle = build_bundle_from_trees(
        documents[1], serials[7], stamp_tree, result.plan.tree, result.receipt
    )
    yield AnchoredLot(client, serials, stamp_tree, documents, result, bundle)
    client.close()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture(scope="session")
def bridge_url(anchored_lot: AnchoredLot) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 wrapping handle_jsonrpc over the shared chain."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        reply = handle_jsonrpc(anchored_lot.client, json.loads(environ["wsgi.input"].read(size)))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(reply).encode()]

    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/chain/rpc"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """A private anvil node for the session (skips loudly when the binary is absent)."""
    binary = find_anvil()
    if binary is None:
        pytest.skip(
            "ANVIL NOT FOUND: JSON-RPC integration tests skipped. Run `npm install` at the "
            "repository root (devDependency @foundry-rs/anvil) or set ANVIL_BIN."
        )
    with running_anvil(binary) as url:
        yield url

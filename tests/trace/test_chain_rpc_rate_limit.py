"""The app counts each client's calls to /chain/rpc and answers 429 past the limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from trace.app import close_app, create_app

CHAIN_ID = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


@pytest.fixture
def limited_app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app({**app_config, "CHAIN_RPC_RATE_LIMIT": "2 per minute"})
    yield application
    close_app(application)


def test_a_client_past_the_rate_limit_gets_429_as_a_json_rpc_error(limited_app: Flask) -> None:
    web = limited_app.test_client()
    for _ in range(2):
        assert web.post("/chain/rpc", json=CHAIN_ID).status_code == 200
    refused = web.post("/chain/rpc", json=CHAIN_ID)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert refused.json["error"]["code"] == -32005
    assert refused.json["error"]["message"].startswith("rate limit exceeded (2 per 1 minute)")
    other = limited_app.test_client()
    other_client = other.post("/chain/rpc", json=CHAIN_ID, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_client.status_code == 200  # counted per client address


def test_the_default_limit_lets_a_verifier_through(app: Flask) -> None:
    assert app.config["CHAIN_RPC_RATE_LIMIT"] == "60 per minute"
    web = app.test_client()
    assert all(web.post("/chain/rpc", json=CHAIN_ID).status_code == 200 for _ in range(10))

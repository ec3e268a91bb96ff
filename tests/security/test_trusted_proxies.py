"""Behind a reverse proxy the rate limits key on the real client; without one, a client
cannot pose as many by sending ``X-Forwarded-For`` itself."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from trace.app import close_app, create_app
from trace.config import ConfigError

SCAN = "/01/08938505974009/10/NO-LOT/21/NOSERIAL"


def _statuses(client: FlaskClient, forwarded_for: str, times: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for}
    return [client.get(SCAN, headers=headers).status_code for _ in range(times)]


@pytest.fixture
def proxied_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SCAN_RATE_LIMIT": "3 per minute"}


def test_behind_one_proxy_each_consumer_has_a_bucket(proxied_config: dict[str, Any]) -> None:
    app = create_app({**proxied_config, "TRUSTED_PROXIES": "1"})
    try:
        client = app.test_client()
        assert _statuses(client, "203.0.113.7", 4)[-1] == 429
        assert 429 not in _statuses(client, "203.0.113.8", 3)  # another shopper, same proxy
    finally:
        close_app(app)


def test_without_trusted_proxies_the_header_is_ignored(proxied_config: dict[str, Any]) -> None:
    app = create_app({**proxied_config, "TRUSTED_PROXIES": "0"})
    try:
        client = app.test_client()
        assert _statuses(client, "203.0.113.7", 4)[-1] == 429
        assert _statuses(client, "203.0.113.8", 1) == [429]  # same socket address: same client
    finally:
        close_app(app)


def test_only_the_trusted_hop_counts(proxied_config: dict[str, Any]) -> None:
    """A client that prepends its own addresses still lands in its own bucket."""
    app = create_app({**proxied_config, "TRUSTED_PROXIES": "1"})
    try:
        client = app.test_client()
        spoofed = [f"10.0.0.{i}, 203.0.113.9" for i in range(4)]
        statuses = [client.get(SCAN, headers={"X-Forwarded-For": f}).status_code for f in spoofed]
        assert statuses[-1] == 429
    finally:
        close_app(app)


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_proxy_count_stops_start_up(app_config: dict[str, Any], value: str) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({**app_config, "TRUSTED_PROXIES": value})

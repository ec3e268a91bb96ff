"""Scan rate limits hold across gunicorn workers (Redis), and a Redis outage never fails a scan."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace.app import close_app, create_app
from trace.models import Lot, Product

REDIS = ("127.0.0.1", 6379)
JSON = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile",
    "Accept": "application/json",
}


def redis_is_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def path(session: Session, farm_a: Farm) -> str:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    lot = session.get(Lot, farm_a.lot_id)
    assert lot is not None
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serial = session.exec(select(Stamp.serial).order_by(col(Stamp.id))).first()
    return f"/01/{gtin}/10/{lot.code}/21/{serial}"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A fresh key prefix: test runs and parallel workers never share counters.
    return {
        **app_config,
        "SCAN_RATE_LIMIT": "4 per minute",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"agritrace-test-{uuid.uuid4().hex}",
    }


@pytest.fixture
def second_worker(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """Another app process's view of the same database and limits (a second gunicorn worker)."""
    other = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "worker-2")})
    yield other
    close_app(other)


def test_two_workers_share_one_clients_scan_limit(
    app: Flask, second_worker: Flask, path: str
) -> None:
    if not redis_is_up():
        pytest.skip("REDIS NOT RUNNING on 127.0.0.1:6379: shared rate limits are untested.")
    one, two = app.test_client(), second_worker.test_client()
    codes = [(one if i % 2 else two).get(path, headers=JSON).status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]  # four in all, not four per worker
    assert one.get(path, headers=JSON).status_code == 429


def test_scans_go_on_when_the_limit_store_is_unreachable(
    app_config: dict[str, Any], path: str, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    config = {**app_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{dead}/0"}
    offline = create_app({**config, "INSTANCE_PATH": str(tmp_path / "offline")})
    try:
        client = offline.test_client()
        codes = [client.get(path, headers=JSON).status_code for _ in range(6)]
        # Counted in this process instead: the scans answer, and the limit still holds.
        assert codes == [200, 200, 200, 200, 429, 429]
    finally:
        close_app(offline)


class _Counts:
    """Redis running the limiter's script (HINCRBY per client in the window's hash, then
    EXPIRE) on a dict, recording which thread asked and how many clients each call carried."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.callers: list[tuple[str, int]] = []

    def register_script(self, lua: str) -> Any:
        import threading

        assert "HINCRBY" in lua and "EXPIRE" in lua

        def run(keys: list[str], args: list[Any]) -> list[int]:
            pairs = list(zip(args[1::2], args[2::2], strict=True))
            self.callers.append((threading.current_thread().name, len(pairs)))
            window = self.counts.setdefault(keys[0], {})
            for client, n in pairs:
                window[client] = window.get(client, 0) + n
            return [window[client] for client, _n in pairs]

        return run


def test_a_clients_first_scan_waits_for_no_round_trip_and_is_counted_after() -> None:
    import time

    from stamps.hotpath.ratelimit import REPORT_SECONDS, ScanLimiter

    redis = _Counts()
    workers = [ScanLimiter(3, 60, redis, "t", 1) for _ in range(2)]
    now = 1_000_000.0
    assert workers[0].hit("phone", now) is None
    assert redis.callers == []  # answered without asking Redis
    deadline = time.monotonic() + 5
    while not redis.callers and time.monotonic() < deadline:
        time.sleep(REPORT_SECONDS)
    assert redis.callers == [("scan-limit-reporter", 1)]
    assert redis.counts == {"t/999960": {"phone": 1}}
    # The other worker's first grant, then leases that count both: three in all.
    allowed = [w.hit("phone", now) is None for w in (workers[1], workers[0], workers[1])]
    assert allowed == [True, True, False]
    assert workers[1].hit("phone", now) is not None and workers[0].hit("phone", now) is not None


def test_one_call_reports_every_clients_first_scan_of_a_window() -> None:
    from stamps.hotpath.ratelimit import ScanLimiter

    redis = _Counts()
    limiter = ScanLimiter(2, 60, redis, "t", 1)
    now = 1_000_000.0
    for client in ("a", "b", "c"):
        assert limiter.hit(client, now) is None
    limiter.report()  # what the reporting thread does (it may have done it already)
    assert sum(n for _name, n in redis.callers) == 3
    assert redis.counts == {"t/999960": {"a": 1, "b": 1, "c": 1}}
    # The next window's first scans go to that window's hash, not added to this one's.
    assert limiter.hit("a", now + 60) is None
    limiter.report()
    assert redis.counts["t/1000020"] == {"a": 1} and redis.counts["t/999960"]["a"] == 1


def test_the_script_counts_in_redis_itself() -> None:
    """The Lua script on the real server: counts per client in the window's hash, which
    expires with the window."""
    if not redis_is_up():
        pytest.skip("REDIS NOT RUNNING on 127.0.0.1:6379: the limiter's script is untested.")
    import redis as redis_module

    from stamps.hotpath.ratelimit import ScanLimiter

    server = redis_module.Redis(*REDIS)
    prefix = f"agritrace-test-{uuid.uuid4().hex}"
    try:
        one, two = (ScanLimiter(3, 60, server, prefix, 1) for _ in range(2))
        now = 1_000_000.0
        assert one.hit("phone", now) is None and one.hit("tablet", now) is None
        one.report()
        assert server.hgetall(f"{prefix}/999960") == {b"phone": b"1", b"tablet": b"1"}
        assert 0 < server.ttl(f"{prefix}/999960") <= 61
        # The other worker leases against the same count: three scans in all, then refused.
        allowed = [w.hit("phone", now) is None for w in (two, two, one, two)]
        assert allowed == [True, True, False, False]
        assert int(server.hget(f"{prefix}/999960", "phone") or 0) >= 3
    finally:
        server.delete(f"{prefix}/999960")
        server.close()

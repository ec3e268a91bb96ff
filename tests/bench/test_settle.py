"""Between wrk runs the benchmark waits for the server to drain what the last run queued."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bench.bench_scan import settle


class Backlogged(BaseHTTPRequestHandler):
    """``/livez`` on a one-at-a-time server that is slow while a backlog lasts."""

    backlog_until = 0.0
    probes = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).probes += 1
        if time.monotonic() < type(self).backlog_until:
            time.sleep(0.05)  # the queued requests ahead of this probe
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = HTTPServer(("127.0.0.1", 0), Backlogged)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Backlogged.backlog_until, Backlogged.probes = 0.0, 0
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_idle_server_is_settled_by_one_quick_probe(server: int) -> None:
    settle(server, quick_s=1.0, grace_s=0)  # generous: a busy CI machine is slow too
    assert Backlogged.probes == 1


def test_the_next_run_waits_until_the_backlog_is_served(server: int) -> None:
    Backlogged.backlog_until = time.monotonic() + 0.6
    waited = settle(server, quick_s=0.04, grace_s=0)
    assert time.monotonic() >= Backlogged.backlog_until
    assert waited >= 0.5
    assert Backlogged.probes > 1

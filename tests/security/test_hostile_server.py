"""Hostile input against real server processes: the development server that ``make run``
starts (``flask serve``) and gunicorn. Each attack gets its answer, and ``/healthz`` still
answers 200 within a second afterwards: no single request takes the service down.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.processes import die_with_parent
from tests.chain.anvil import free_port

ROOT = Path(__file__).resolve().parents[2]
#: A process imports the whole app (py-evm, web3, reportlab): slow on a busy CI machine.
START_PATIENCE = 120.0
DEEP = 70_000  # the nesting that killed the process with SIGSEGV

pytestmark = pytest.mark.xdist_group("hostile-server")


@dataclass
class Server:
    """A running server process and what a test needs to talk to it."""

    kind: str
    port: int
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    token: str = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection; an iterable body is sent chunked."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def assert_healthy(self) -> None:
        """``/healthz`` answers 200 within a second, and every process is still running."""
        for process in self.processes:
            assert process.poll() is None, f"{self.kind}: a process died ({process.returncode})"
        started = time.monotonic()
        status, _headers, body = self.request("GET", "/healthz", timeout=1.0)
        elapsed = time.monotonic() - started
        assert status == 200, body[:500]
        assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s"


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=START_PATIENCE,
    )


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


def _wait_until_healthy(server: Server, log: Path) -> None:
    deadline = time.monotonic() + START_PATIENCE
    while time.monotonic() < deadline:
        for process in server.processes:
            if process.poll() is not None:
                raise AssertionError(f"{server.kind} exited:\n{log.read_text()[-3000:]}")
        try:
            if server.request("GET", "/healthz", timeout=2.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{server.kind} not healthy in time:\n{log.read_text()[-3000:]}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module", params=["flask-serve", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A seeded demo served as ``make run`` serves it, or by gunicorn beside a worker."""
    kind: str = request.param
    folder = tmp_path_factory.mktemp(kind)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "AGRITRACE"))}
    env.update(
        AGRITRACE_ENV="development",
        AGRITRACE_INSTANCE=str(folder / "instance"),
        DATABASE_URL=f"sqlite:///{folder / 'agritrace.db'}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        MARKETPLACE_SANDBOXES="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("TEST_DATABASE_URL", None)
    _flask(env, "migrate")
    _flask(env, "seed-demo")
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "create-token",
            "inspector@demo.agritrace.vn",
            "--scope",
            "read,recall,capture",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=START_PATIENCE,
    ).stdout.split()[-1]
    log = folder / "server.log"
    if kind == "flask-serve":
        commands = [[sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)]]
    else:
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
                "wsgi:app",
            ],
            # Jobs run in a worker process; one that opens no chain may run beside gunicorn.
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--only", "marketplace."],
        ]
    running = Server(kind, port, env, [_start(cmd, env, log) for cmd in commands], token)
    try:
        _wait_until_healthy(running, log)
        yield running
    finally:
        _stop(running.processes)


def _rpc(server: Server, payload: Any) -> tuple[int, Any]:
    status, _headers, body = server.request(
        "POST", "/chain/rpc", json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(body) if body.startswith((b"{", b"[")) else body


# --- 1. one request must not crash the process --------------------------------------------


def test_deeply_nested_json_to_chain_rpc_is_refused(server: Server) -> None:
    status, _headers, body = server.request(
        "POST", "/chain/rpc", b"[" * DEEP, {"Content-Type": "application/json"}
    )
    assert status == 413 or json.loads(body)["error"]["code"] in (-32600, -32700)
    server.assert_healthy()


def test_deeply_nested_chunked_json_to_chain_rpc_is_refused(server: Server) -> None:
    """No Content-Length: the body limit holds while the body is read."""
    chunks = (b"[" * 1000 for _ in range(DEEP // 1000))
    status, _headers, _body = server.request(
        "POST", "/chain/rpc", chunks, {"Content-Type": "application/json"}
    )
    assert status == 413
    server.assert_healthy()


def test_nesting_under_the_rpc_size_limit_is_a_parse_error(server: Server) -> None:
    chunks = (b"[" * 1000 for _ in range(60))
    status, _headers, body = server.request(
        "POST", "/chain/rpc", chunks, {"Content-Type": "application/json"}
    )
    assert status == 200
    assert json.loads(body)["error"]["code"] == -32700
    server.assert_healthy()


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_deeply_nested_epcis_capture_is_refused(server: Server, chunked: bool) -> None:
    document = b'{"type": "EPCISDocument", "epcisBody": ' + b"[" * 200_000 + b"}"
    body: bytes | Iterator[bytes] = (
        (document[i : i + 8192] for i in range(0, len(document), 8192)) if chunked else document
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
    status, response_headers, answer = server.request(
        "POST", "/api/v1/epcis/capture", body, headers
    )
    assert status == 400, answer[:1000]
    assert response_headers["Content-Type"] == "application/problem+json"
    assert b"nested deeper than 32 levels" in answer
    server.assert_healthy()


def test_a_chunked_body_over_the_size_limit_is_refused(server: Server) -> None:
    """7 MB against the 6 MB limit, with no Content-Length to check up front."""
    chunks = (b" " * 65536 for _ in range(7 * 16))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
    status, _headers, _body = server.request("POST", "/api/v1/epcis/capture", chunks, headers)
    assert status == 413
    server.assert_healthy()

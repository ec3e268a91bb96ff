"""A delivery connects to the address it checked: DNS rebinding, private names, TLS on the
hostname while connecting to the pinned address."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask

from tests.registry_fixtures import Farm
from tests.trace.alerts.conftest import Receiver
from tests.trace.alerts.test_webhooks import recall, subscribe
from trace.alerts import transport
from trace.alerts.webhooks import target_problem

PUBLIC = "93.184.216.34"  # a public address the tests never really connect to
TLS = Path(__file__).parent / "tls"


class Resolver:
    """``socket.getaddrinfo`` with scripted answers for some names: each name's answers (an
    address, or several as a tuple) are given in turn, the last one for every later
    question; other names resolve as usual."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str | tuple[str, ...]]] = {}
        self.asked: list[str] = []
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.asked.append(name)
        queue = self.answers[name]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            _info(address, int(port))
            for address in ((answer,) if isinstance(answer, str) else answer)
        ]


def _info(address: str, port: int) -> Any:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def public_connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Connections to ``PUBLIC`` are recorded and refused (no test reaches the internet)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if address[0] == PUBLIC:
            attempts.append(address)
            raise ConnectionRefusedError(111, "refused by the test")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def named(receiver: Receiver, hostname: str) -> Receiver:
    """The receiver, addressed by ``hostname`` (and the receiver's port)."""
    port = urlsplit(receiver.url).port
    return Receiver(f"http://{hostname}:{port}/hooks/agritrace")


def test_a_rebinding_host_never_reaches_the_address_it_turns_to(
    app: Flask,
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    resolver: Resolver,
    public_connects: list[Any],
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, named(receiver, "rebind.example"), ["recall"])
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    resolver.answers["rebind.example"] = [PUBLIC, "127.0.0.1"]  # checked, then connected
    recall(inspector_api, farm_a)
    assert deliver() == 1
    assert receiver.received == []
    port = urlsplit(receiver.url).port
    assert public_connects == [(PUBLIC, port)]  # the checked address, and only it
    assert resolver.asked == ["rebind.example"]  # resolved once
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert delivery["status"] == "pending" and delivery["last_status_code"] is None
    assert "ConnectionError" in delivery["last_error"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::",
        "ff02::1",
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(
    resolver: Resolver, address: str
) -> None:
    resolver.answers["inside.example"] = [address]
    assert transport.refused_address(ipaddress.ip_address(address))
    assert target_problem("https://inside.example/hook", allow_private=False) is not None
    with pytest.raises(transport.TargetRefused, match="private or loopback"):
        transport.resolve("https://inside.example/hook", allow_private=False)


def test_a_public_name_is_pinned_with_its_hostname_kept(resolver: Resolver) -> None:
    resolver.answers["hooks.example"] = [PUBLIC]
    target = transport.resolve("https://user:pw@hooks.example:8443/in?x=1#f", allow_private=False)
    assert target.urls == (f"https://{PUBLIC}:8443/in?x=1",)
    assert (target.hostname, target.host_header) == ("hooks.example", "hooks.example:8443")
    assert target.auth == ("user", "pw")
    assert target_problem("https://hooks.example/in", allow_private=False) is None


def test_a_delivery_refuses_a_name_that_now_resolves_to_a_private_address(
    app: Flask,
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    resolver: Resolver,
    public_connects: list[Any],
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, named(receiver, "inside.example"), ["recall"])
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    resolver.answers["inside.example"] = ["10.0.0.7"]
    recall(inspector_api, farm_a)
    assert deliver() == 1
    assert receiver.received == [] and public_connects == []
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert "private or loopback" in delivery["last_error"]


def test_a_delivery_to_a_named_receiver_keeps_its_host_header(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    resolver: Resolver,
    deliver: Callable[[], int],
) -> None:
    resolver.answers["receiver.test"] = ["127.0.0.1"]  # allowed: a test setting (testing env)
    subscription = subscribe(admin_api, named(receiver, "receiver.test"), ["recall"])
    recall(inspector_api, farm_a)
    assert deliver() == 1
    [(headers, _body)] = receiver.received
    assert headers["Host"] == f"receiver.test:{urlsplit(receiver.url).port}"
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert (delivery["status"], delivery["last_status_code"]) == ("delivered", 200)


def test_a_delivery_tries_the_next_checked_address_when_one_takes_no_connection(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    resolver: Resolver,
    public_connects: list[Any],
    deliver: Callable[[], int],
) -> None:
    resolver.answers["two.example"] = [(PUBLIC, "127.0.0.1")]  # loopback allowed in tests
    subscription = subscribe(admin_api, named(receiver, "two.example"), ["recall"])
    recall(inspector_api, farm_a)
    assert deliver() == 1
    assert len(public_connects) == 1 and len(receiver.received) == 1
    assert resolver.asked == ["two.example"]
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert delivery["status"] == "delivered"


def test_a_redirect_is_not_followed(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, receiver, ["recall"])
    receiver.statuses = [307]  # the receiver sends no Location; requests would re-POST here
    recall(inspector_api, farm_a)
    assert deliver() == 1
    assert len(receiver.received) == 1
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert (delivery["status"], delivery["last_status_code"]) == ("pending", 307)


@pytest.fixture
def tls_receiver() -> Iterator[tuple[int, list[str | None]]]:
    """An HTTPS receiver on 127.0.0.1 with a certificate for ``receiver.test`` only; keeps
    the SNI each handshake sent."""
    sni: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "receiver.pem", TLS / "receiver.key")
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,misc]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204 if self.headers["Host"].startswith("receiver.test:") else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], sni
    server.shutdown()
    server.server_close()
    thread.join()


def test_tls_checks_the_hostname_while_connecting_to_the_pinned_address(
    resolver: Resolver, tls_receiver: tuple[int, list[str | None]]
) -> None:
    port, sni = tls_receiver
    resolver.answers["receiver.test"] = ["127.0.0.1"]
    resolver.answers["impostor.test"] = ["127.0.0.1"]
    ca = str(TLS / "ca.pem")
    target = transport.resolve(f"https://receiver.test:{port}/in", allow_private=True)
    assert target.urls == (f"https://127.0.0.1:{port}/in",)
    assert transport.post(target, b"{}", {}, timeout=5, verify=ca).status_code == 204
    assert sni == ["receiver.test"]
    impostor = transport.resolve(f"https://impostor.test:{port}/in", allow_private=True)
    with pytest.raises(requests.exceptions.SSLError):
        transport.post(impostor, b"{}", {}, timeout=5, verify=ca)

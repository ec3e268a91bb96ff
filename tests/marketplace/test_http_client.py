"""The adapters' HTTP client honours the environment's proxies and CA bundle, read once."""

from __future__ import annotations

import pytest

from marketplace.http import HttpClient


def test_proxies_and_ca_bundle_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.vn:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/province-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = HttpClient("https://api.postmart.example.vn")._session()
    assert session.proxies.get("https") == "http://proxy.example.vn:3128"
    assert session.verify == "/etc/ssl/province-ca.pem"
    assert session.trust_env is False  # not read again on every request


def test_hosts_in_no_proxy_are_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.vn:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    session = HttpClient("http://127.0.0.1:5101")._session()
    assert "http" not in session.proxies


def test_each_thread_gets_its_own_session() -> None:
    import threading

    client = HttpClient("http://127.0.0.1:5101")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(client._session()))
    thread.start()
    thread.join()
    assert seen[0] is not client._session()
    assert client._session() is client._session()

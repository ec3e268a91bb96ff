"""Whoever knows a farmer's email can lock out new devices, never the farmer's own browsers.

OWASP's device cookies: a browser that logged in to the account before is throttled as
that device, not as the account, and a device cookie that guesses is locked itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from tests.registry_fixtures import PASSWORD, Farm, login
from trace.web.device_cookies import COOKIE

WRONG = "not the right password"
HOME, ATTACKER = "10.0.0.5", "10.0.0.66"


def browser(app: Flask, address: str) -> FlaskClient:
    """A fresh browser (its own cookie jar) at a client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, email: str, password: str) -> Any:
    return client.post("/login?lang=en", data={"email": email, "password": password})


def farmers_browser(app: Flask, email: str) -> FlaskClient:
    """The farmer's own browser: it logged in once, then logged out."""
    client = login(browser(app, HOME), email)
    assert client.post("/logout").status_code == 302
    assert client.get("/farm/").status_code == 302  # anonymous again
    return client


def device_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE, path="/login")
    assert cookie is not None, "no device cookie after a successful login"
    return cookie.value


def with_device_cookie(app: Flask, address: str, value: str) -> FlaskClient:
    client = browser(app, address)
    client.set_cookie(COOKIE, value, path="/login")
    return client


def lock_out(app: Flask, email: str) -> None:
    """An attacker types wrong passwords for the email until the account is locked."""
    attacker = browser(app, ATTACKER)
    statuses = [attempt(attacker, email, WRONG).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the wall clock forward (limiter storage, lockouts and cookie ages read it)."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    return lambda seconds: offset.__setitem__(0, offset[0] + seconds)


def test_the_farmers_browser_logs_in_while_an_attacker_has_locked_the_account(
    app: Flask, farm_a: Farm
) -> None:
    farmer = farmers_browser(app, farm_a.email)
    lock_out(app, farm_a.email)
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 302
    assert farmer.get("/farm/").status_code == 200


def test_without_the_device_cookie_the_locked_account_is_refused_with_when_to_retry(
    app: Flask, farm_a: Farm
) -> None:
    farmer = farmers_browser(app, farm_a.email)
    lock_out(app, farm_a.email)
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 302
    new_phone = browser(app, HOME)  # same network as the farmer, never logged in here
    refused = attempt(new_phone, farm_a.email, PASSWORD)
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Log-ins from new devices are paused: try again in 1 min." in page
    assert "where you have logged in to this account before, you can still log in now" in page
    assert new_phone.get("/farm/").status_code == 302  # still anonymous
    assert new_phone.get_cookie(COOKIE, path="/login") is None


def test_the_locked_out_page_is_vietnamese_by_default(app: Flask, farm_a: Farm) -> None:
    lock_out(app, farm_a.email)
    page = browser(app, HOME).post("/login", data={"email": farm_a.email, "password": PASSWORD})
    text = page.get_data(as_text=True)
    assert "đăng nhập từ thiết bị mới đang tạm dừng: vui lòng thử lại sau 1 phút" in text
    assert "bạn vẫn có thể đăng nhập ngay bây giờ" in text


@pytest.fixture
def without_lockout(app_config: dict[str, Any]) -> None:
    """Only Flask-Limiter's per-account limit (10 failures an hour) stops guessing."""
    app_config["LOGIN_LOCKOUT_AFTER"] = 1000


def test_the_per_account_limit_spares_the_farmers_browser_too(
    without_lockout: None, app: Flask, farm_a: Farm
) -> None:
    farmer = farmers_browser(app, farm_a.email)
    attackers = [browser(app, f"10.0.1.{n}") for n in range(3)]  # under the per-client limit
    statuses = [attempt(attackers[n % 3], farm_a.email, WRONG).status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    refused = attempt(browser(app, HOME), farm_a.email, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "you can still log in now" in refused.get_data(as_text=True)
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 302


def test_a_forged_or_another_accounts_device_cookie_gives_no_bypass(
    app: Flask, farm_a: Farm, farm_b: Farm
) -> None:
    genuine = device_cookie(farmers_browser(app, farm_a.email))
    other_account = device_cookie(login(browser(app, HOME), farm_b.email))
    claims = URLSafeTimedSerializer("any", salt="agritrace.login-device").loads_unsafe(genuine)[1]
    forgeries = {
        "another account's cookie": other_account,
        "a tampered signature": genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB"),
        "the same claims signed with another key": URLSafeTimedSerializer(
            "not the app's secret", salt="agritrace.login-device"
        ).dumps(claims),
        "garbage": "not-a-device-cookie",
    }
    lock_out(app, farm_a.email)
    for what, value in forgeries.items():
        refused = attempt(with_device_cookie(app, ATTACKER, value), farm_a.email, PASSWORD)
        assert refused.status_code == 429, what
        assert "Log-ins from new devices are paused" in refused.get_data(as_text=True), what
    holder = with_device_cookie(app, HOME, genuine)
    assert attempt(holder, farm_a.email, PASSWORD).status_code == 302


def test_a_device_cookie_used_to_guess_is_locked_and_the_account_is_not(
    app: Flask, farm_a: Farm
) -> None:
    stolen = device_cookie(farmers_browser(app, farm_a.email))
    thief = with_device_cookie(app, ATTACKER, stolen)
    assert [attempt(thief, farm_a.email, WRONG).status_code for _ in range(5)] == [401] * 5
    refused = attempt(thief, farm_a.email, PASSWORD)  # even the right password now waits
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many failed log-ins from this device. To protect the account, try again" in page
    assert "you can still log in now" not in page
    assert thief.get("/farm/").status_code == 302
    # The guesses counted against that cookie alone: a new device is not locked out.
    assert attempt(browser(app, HOME), farm_a.email, PASSWORD).status_code == 302


def test_a_locked_device_cookie_doubles_its_wait_and_then_logs_in(
    app: Flask, farm_a: Farm, clock: Callable[[float], None]
) -> None:
    thief = with_device_cookie(app, ATTACKER, device_cookie(farmers_browser(app, farm_a.email)))
    for _ in range(5):
        attempt(thief, farm_a.email, WRONG)
    clock(61)
    assert attempt(thief, farm_a.email, WRONG).status_code == 401  # the sixth failure
    assert 115 <= int(attempt(thief, farm_a.email, PASSWORD).headers["Retry-After"]) <= 120
    clock(121)
    assert attempt(thief, farm_a.email, PASSWORD).status_code == 302


def test_a_farmers_login_from_a_known_device_does_not_reset_the_attackers_count(
    app: Flask, farm_a: Farm
) -> None:
    farmer = farmers_browser(app, farm_a.email)
    attacker = browser(app, ATTACKER)
    assert [attempt(attacker, farm_a.email, WRONG).status_code for _ in range(4)] == [401] * 4
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 302
    assert attempt(attacker, farm_a.email, WRONG).status_code == 401  # the fifth: locked
    assert attempt(attacker, farm_a.email, PASSWORD).status_code == 429


def test_a_device_cookie_expires_after_a_year(
    app: Flask, farm_a: Farm, clock: Callable[[float], None]
) -> None:
    farmer = farmers_browser(app, farm_a.email)
    clock(366 * 24 * 3600)
    lock_out(app, farm_a.email)
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 429


def test_each_login_renews_the_device_cookie(app: Flask, farm_a: Farm) -> None:
    farmer = farmers_browser(app, farm_a.email)
    first = device_cookie(farmer)
    assert attempt(farmer, farm_a.email, PASSWORD).status_code == 302
    assert device_cookie(farmer) != first


def test_the_device_cookie_is_httponly_lax_long_lived_and_only_for_the_login_page(
    app: Flask, farm_a: Farm
) -> None:
    def set_device_cookie(base_url: str) -> tuple[str, set[str]]:
        response = browser(app, HOME).post(
            "/login", data={"email": farm_a.email, "password": PASSWORD}, base_url=base_url
        )
        assert response.status_code == 302
        (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]
        value, *flags = (part.strip() for part in header.split(";"))
        return value.split("=", 1)[1], {flag.lower() for flag in flags}

    value, flags = set_device_cookie("https://trace.example.vn")
    assert {"httponly", "samesite=lax", "secure", "path=/login"} <= flags
    (max_age,) = [int(f.split("=")[1]) for f in flags if f.startswith("max-age=")]
    assert max_age >= 365 * 24 * 3600
    claims = URLSafeTimedSerializer("any", salt="agritrace.login-device").loads_unsafe(value)[1]
    assert farm_a.email not in str(claims)  # bound by a keyed hash, not the email itself
    _, plain = set_device_cookie("http://trace.example.vn")
    assert "secure" not in plain and "httponly" in plain

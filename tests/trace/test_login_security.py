"""Logins resist guessing, answer alike for unknown accounts, and sessions end on logout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import FAST_HASH
from tests.registry_fixtures import PASSWORD, Farm, login
from trace.models import User
from trace.services import accounts

WRONG = "not the right password"


def attempt(client: FlaskClient, email: str, password: str) -> Any:
    return client.post("/login?lang=en", data={"email": email, "password": password})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the wall clock forward (the limiter storage and the lockout both read it)."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    return lambda seconds: offset.__setitem__(0, offset[0] + seconds)


def test_after_five_failures_even_the_right_password_waits(
    client: FlaskClient, admin: User
) -> None:
    assert [attempt(client, admin.email, WRONG).status_code for _ in range(5)] == [401] * 5
    refused = attempt(client, admin.email, PASSWORD)
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed log-ins" in refused.get_data(as_text=True)
    assert client.get("/admin/producers").status_code == 302  # still anonymous


def test_the_lockout_doubles_and_then_expires(
    client: FlaskClient, admin: User, clock: Callable[[float], None]
) -> None:
    for _ in range(5):
        attempt(client, admin.email, WRONG)
    clock(61)
    assert attempt(client, admin.email, WRONG).status_code == 401  # the sixth failure
    assert 115 <= int(attempt(client, admin.email, PASSWORD).headers["Retry-After"]) <= 120
    clock(121)
    assert attempt(client, admin.email, PASSWORD).status_code == 302


def test_the_lockout_message_is_vietnamese_by_default(client: FlaskClient, admin: User) -> None:
    for _ in range(5):
        attempt(client, admin.email, WRONG)
    page = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert "Đăng nhập sai quá nhiều lần" in page.get_data(as_text=True)


def test_unknown_and_known_emails_are_answered_and_locked_alike(app: Flask, admin: User) -> None:
    def answers(email: str, address: str) -> list[tuple[int, str]]:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        replies = [attempt(client, email, WRONG) for _ in range(6)]
        return [(r.status_code, r.get_data(as_text=True).replace(email, "EMAIL")) for r in replies]

    known = answers(admin.email, "10.0.0.1")
    unknown = answers("nobody@example.vn", "10.0.0.2")
    assert [status for status, _ in known] == [401] * 5 + [429]
    assert known == unknown


def test_one_client_guessing_many_accounts_is_slowed(app: Flask, admin: User) -> None:
    guesser = app.test_client()
    statuses = [attempt(guesser, f"user{n}@example.vn", WRONG).status_code for n in range(10)]
    assert statuses == [401] * 10
    refused = attempt(guesser, admin.email, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert attempt(elsewhere, admin.email, PASSWORD).status_code == 302


def test_successful_logins_are_never_throttled(app: Flask, admin: User) -> None:
    statuses = [attempt(app.test_client(), admin.email, PASSWORD).status_code for _ in range(15)]
    assert statuses == [302] * 15


def test_a_successful_login_forgets_earlier_failures(client: FlaskClient, admin: User) -> None:
    for _ in range(4):
        attempt(client, admin.email, WRONG)
    assert attempt(client, admin.email, PASSWORD).status_code == 302
    assert [attempt(client, admin.email, WRONG).status_code for _ in range(4)] == [401] * 4


@pytest.fixture
def hashings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hashes each password check compared against, in order."""
    seen: list[str] = []
    real = accounts.check_password_hash

    def counting(stored: str, password: str) -> bool:
        seen.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return seen


def test_an_unknown_email_costs_one_hashing_at_the_configured_cost(
    client: FlaskClient, admin: User, hashings: list[str]
) -> None:
    assert attempt(client, "nobody@example.vn", WRONG).status_code == 401
    assert len(hashings) == 1
    assert hashings[0].startswith(FAST_HASH + "$")  # the dummy hash, made like real ones
    assert attempt(client, admin.email, WRONG).status_code == 401
    assert len(hashings) == 2 and hashings[1] == admin.password_hash


def test_an_inactive_account_costs_the_same_hashing(
    client: FlaskClient, admin: User, session: Session, hashings: list[str]
) -> None:
    admin.is_active = False
    session.add(admin)
    session.commit()
    assert attempt(client, admin.email, PASSWORD).status_code == 401
    assert hashings == [admin.password_hash]


def test_registering_a_taken_email_hashes_the_password_as_a_new_one_does(
    app: Flask, farm_a: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.trace.test_registration import FORM

    calls: list[str] = []
    real = accounts.generate_password_hash
    monkeypatch.setattr(
        accounts, "generate_password_hash", lambda p, method: calls.append(p) or real(p, method)
    )
    new = app.test_client().post("/register", data=FORM)
    taken = app.test_client().post(
        "/register", data=dict(FORM, email=farm_a.email, registration_number="1109999999")
    )
    assert len(calls) == 2
    assert (new.status_code, new.headers["Location"]) == (302, "/login")
    assert (taken.status_code, taken.headers["Location"]) == (302, "/login")


def test_a_session_cookie_replayed_after_logout_lands_on_the_login_page(
    app: Flask, farm_a: Farm
) -> None:
    client = login(app.test_client(), farm_a.email)
    stolen = client.get_cookie("session")
    assert stolen is not None
    assert client.get("/farm/").status_code == 200
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen.value)
    response = replay.get("/farm/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_accounts_other_sessions_too(app: Flask, farm_a: Farm) -> None:
    phone, office = login(app.test_client(), farm_a.email), login(app.test_client(), farm_a.email)
    phone.post("/logout")
    assert office.get("/farm/").status_code == 302


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    app: Flask, farm_a: Farm
) -> None:
    phone, office = login(app.test_client(), farm_a.email), login(app.test_client(), farm_a.email)
    new = "ba cây xoài sau nhà nở hoa"
    changed = phone.post(
        "/account/password?lang=en", data={"current_password": PASSWORD, "password": new}
    )
    assert changed.status_code == 302
    assert phone.get("/farm/").status_code == 200
    assert office.get("/farm/").status_code == 302
    assert attempt(app.test_client(), farm_a.email, PASSWORD).status_code == 401
    login(app.test_client(), farm_a.email, new)


def test_password_change_needs_the_current_password_and_a_good_new_one(
    login_as: Callable[[str], FlaskClient], farm_a: Farm
) -> None:
    client = login_as(farm_a.email)
    wrong = client.post(
        "/account/password?lang=en",
        data={"current_password": WRONG, "password": "ba cây xoài sau nhà nở hoa"},
    )
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.get_data(as_text=True)
    weak = client.post(
        "/account/password?lang=en", data={"current_password": PASSWORD, "password": "password1234"}
    )
    assert weak.status_code == 422
    assert "too common or too easy to guess" in weak.get_data(as_text=True)
    assert client.get("/farm/").status_code == 200  # a refused change ends nothing


def test_create_user_refuses_a_common_password(runner: Any) -> None:
    result = runner.invoke(
        args=["create-user", "ops@example.vn", "--role", "admin", "--password", "qwertyuiop12"]
    )
    assert result.exit_code != 0
    assert "password: This password is too common" in result.output


def test_one_client_registering_many_accounts_is_slowed(app: Flask) -> None:
    from tests.trace.test_registration import FORM

    client = app.test_client()
    statuses = [
        client.post(
            "/register",
            data=dict(FORM, email=f"f{n}@example.vn", registration_number=f"{1102000000 + n}"),
        ).status_code
        for n in range(11)
    ]
    assert statuses == [302] * 10 + [429]
    refused = client.post("/register?lang=en", data=dict(FORM, email="late@example.vn"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many registrations from this network" in refused.get_data(as_text=True)

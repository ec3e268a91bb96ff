"""Every form refuses a post without a CSRF token and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from tests.registry_fixtures import PASSWORD, Farm
from trace.models import Event, Lot, Plot, Producer, Product, User


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def logged_in(app: Flask, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_login_form_without_token_is_refused(app: Flask, farm_a: Farm) -> None:
    response = app.test_client().post(
        "/login?lang=en", data={"email": farm_a.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Reload the page and send it again." in response.get_data(as_text=True)


def test_every_form_post_without_token_is_refused(
    app: Flask, farm_a: Farm, admin: User, session: Session
) -> None:
    farmer = logged_in(app, farm_a.email)
    before = {
        m: len(session.exec(select(m)).all()) for m in (Plot, Product, Lot, Event, Producer, User)
    }
    posts = [
        "/register",
        "/farm/profile",
        "/farm/plots",
        "/farm/certifications",
        "/farm/products",
        "/lots/",
        f"/lots/{farm_a.lot_id}/events/harvest",
        "/lots/transform",
        "/logout",
    ]
    for path in posts:
        assert farmer.post(path, data={"name": "x"}).status_code == 400, path
    admin_client = logged_in(app, admin.email)
    for path in ["/admin/inspectors", f"/admin/producers/{farm_a.user.producer_id}/suspend"]:
        assert admin_client.post(path, data={"email": "x@y.vn"}).status_code == 400, path
    session.expire_all()
    assert before == {m: len(session.exec(select(m)).all()) for m in before}
    assert session.get(Producer, farm_a.user.producer_id).status == "approved"


def test_a_password_change_without_token_is_refused_and_changes_nothing(
    app: Flask, farm_a: Farm
) -> None:
    farmer = logged_in(app, farm_a.email)
    forged = farmer.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": "kẻ lạ đổi mật khẩu của tôi"},
    )
    assert forged.status_code == 400
    assert farmer.get("/farm/").status_code == 200  # the session did not end either
    logged_in(app, farm_a.email)  # the old password still works

"""A farmer registers, waits for approval, and an admin approves or suspends."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.registry_fixtures import PASSWORD, login
from trace.models import Producer, User

FORM = {
    "full_name": "Nguyễn Văn Hùng",
    "email": "hung@example.vn",
    "password": PASSWORD,
    "name": "HTX Thanh Long Châu Thành",
    "kind": "cooperative",
    "registration_number": "1101234567",
    "phone": "0912 345 678",
    "address_line": "Ấp 1",
    "commune": "Xã An Lục Long",
    "district": "Huyện Châu Thành",
    "province": "Long An",
    "gln": "",
    "company_prefix": "893600123",
}


def register(client: FlaskClient, form: dict[str, str] = FORM) -> FlaskClient:
    """Register, then log in as the login page asks (registration itself does not)."""
    assert client.post("/register", data=form).status_code == 302
    return login(client, form["email"], form["password"])


def test_registration_creates_a_pending_producer_and_the_farmer_logs_in(
    client: FlaskClient, session: Session
) -> None:
    response = client.post("/register?lang=en", data=FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "your account is ready: log in below" in client.get("/login?lang=en").get_data(
        as_text=True
    )
    producer = session.exec(select(Producer)).one()
    assert producer.status == "pending"
    login(client, FORM["email"])
    page = client.get("/farm/?lang=en").get_data(as_text=True)
    assert "awaiting approval" in page


def test_pending_farmer_cannot_add_products_until_approved(
    client: FlaskClient, session: Session, admin: User
) -> None:
    register(client)
    product = {
        "name_vi": "Thanh long",
        "name_en": "Dragon fruit",
        "category": "fruit",
        "unit": "kg",
        "gtin": "",
    }
    refused = client.post("/farm/products", data=product)
    assert refused.status_code == 409
    producer = session.exec(select(Producer)).one()
    admin_client = login(client.application.test_client(), admin.email)
    assert admin_client.post(f"/admin/producers/{producer.id}/approve").status_code == 302
    accepted = client.post("/farm/products", data=product)
    assert accepted.status_code == 302
    page = client.get("/farm/products").get_data(as_text=True)
    assert "0893600123" in page  # generated from the company prefix


def test_suspended_producer_is_refused_and_told_why(
    client: FlaskClient, session: Session, admin: User
) -> None:
    register(client)
    producer = session.exec(select(Producer)).one()
    admin_client = login(client.application.test_client(), admin.email)
    admin_client.post(f"/admin/producers/{producer.id}/suspend")
    response = client.post(
        "/farm/plots", data={"name": "A", "area_ha": "1", "latitude": "10", "longitude": "106"}
    )
    assert response.status_code == 409
    assert "bị tạm ngưng" in response.get_data(as_text=True)


def test_bad_registration_shows_each_error_next_to_its_field_and_saves_nothing(
    client: FlaskClient, session: Session
) -> None:
    bad = dict(
        FORM,
        email="not-an-email",
        password="short",
        registration_number="12",
        phone="x",
        company_prefix="12ab",
        kind="pirate",
    )
    response = client.post("/register?lang=en", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Enter a valid email address.",
        "Use at least 12 characters.",
        "10-digit tax code",
        "Enter a phone number",
        "company prefix has 6 to 12",
        "Choose one of the listed options.",
    ):
        assert message in page
    assert session.exec(select(Producer)).all() == []
    assert session.exec(select(User)).all() == []


def test_registration_errors_are_in_vietnamese_by_default(client: FlaskClient) -> None:
    response = client.post("/register", data=dict(FORM, email="nope"))
    assert "Nhập địa chỉ email hợp lệ." in response.get_data(as_text=True)


def test_duplicate_registration_number_is_refused(client: FlaskClient, session: Session) -> None:
    client.post("/register", data=FORM)
    other = client.application.test_client()
    response = other.post("/register?lang=en", data=dict(FORM, email="other@example.vn"))
    assert response.status_code == 422
    assert "A producer with this number is already registered." in response.get_data(as_text=True)
    assert len(session.exec(select(Producer)).all()) == 1


def test_taken_email_gets_the_same_answer_as_a_new_one_and_changes_nothing(
    app: Flask, session: Session
) -> None:
    first, second = app.test_client(), app.test_client()
    new = first.post("/register?lang=en", data=FORM)
    taken = second.post(
        "/register?lang=en",
        data=dict(FORM, registration_number="1109999999", password="another long passphrase"),
    )
    assert (taken.status_code, taken.headers["Location"]) == (
        new.status_code,
        new.headers["Location"],
    )
    assert first.get("/login?lang=en").data == second.get("/login?lang=en").data
    assert "already" not in second.get("/register?lang=en").get_data(as_text=True)
    assert len(session.exec(select(Producer)).all()) == 1
    login(app.test_client(), FORM["email"])  # the owner's password still works
    refused = app.test_client().post(
        "/login", data={"email": FORM["email"], "password": "another long passphrase"}
    )
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", "Use at least 12 characters."),
        ("aaaaaaaaaaaa", "too common or too easy to guess"),
        ("qwertyuiop12", "too common or too easy to guess"),  # on the shipped list
        ("Password2026!", "too common or too easy to guess"),  # a common word, dressed up
        ("123456789012", "too common or too easy to guess"),
        ("Hung@example-garden", "Do not use your email address"),
        ("x" * 129, "Use at most 128 characters."),
    ],
)
def test_weak_passwords_are_refused_next_to_the_field(
    client: FlaskClient, session: Session, password: str, message: str
) -> None:
    response = client.post("/register?lang=en", data=dict(FORM, password=password))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in page and message in page
    assert session.exec(select(User)).all() == []


def test_password_rule_speaks_vietnamese_by_default(client: FlaskClient) -> None:
    response = client.post("/register", data=dict(FORM, password="password12345"))
    assert "Mật khẩu này quá phổ biến" in response.get_data(as_text=True)


def test_a_long_passphrase_is_accepted(client: FlaskClient, session: Session) -> None:
    passphrase = (
        "mùa thanh long năm nay trĩu quả bên bờ sông Vàm Cỏ Tây, "
        "ba tôi hái từ sáng sớm đến tận chiều"
    )
    assert len(passphrase) > 64
    register(client, dict(FORM, password=passphrase))
    assert session.exec(select(User)).one().email == FORM["email"]


def test_login_with_wrong_password_is_refused(client: FlaskClient, admin: User) -> None:
    response = client.post("/login", data={"email": admin.email, "password": "wrong password"})
    assert response.status_code == 401
    assert client.get("/admin/producers").status_code == 302  # still anonymous


def test_login_redirect_ignores_offsite_next(client: FlaskClient, admin: User) -> None:
    response = client.post(
        "/login?next=https://evil.example/", data={"email": admin.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_admin_creates_an_inspector_who_can_log_in(client: FlaskClient, admin: User) -> None:
    login(client, admin.email)
    response = client.post(
        "/admin/inspectors",
        data={"full_name": "Thanh tra", "email": "tt@example.vn", "password": PASSWORD},
    )
    assert response.status_code == 302
    inspector = client.application.test_client()
    login(inspector, "tt@example.vn")
    assert inspector.get("/admin/producers").status_code == 200
    assert inspector.post("/admin/inspectors", data={}).status_code == 404  # admins only


def test_farmer_edits_profile(login_as, farm_a, session: Session) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    page = client.get("/farm/profile").get_data(as_text=True)
    assert "HTX Thanh Long 1" in page
    data = {
        "name": "HTX Mới",
        "kind": "company",
        "registration_number": "1100000001",
        "phone": "0909 000 111",
        "address_line": "",
        "commune": "Xã B",
        "district": "Huyện Bến Lức",
        "province": "Long An",
        "gln": "8934567000017",
        "company_prefix": "",
    }
    assert client.post("/farm/profile", data=data).status_code == 302
    producer = session.get(Producer, farm_a.user.producer_id)
    session.refresh(producer)
    assert (producer.name, producer.district, producer.gln) == (
        "HTX Mới",
        "Huyện Bến Lức",
        "8934567000017",
    )
    bad = client.post("/farm/profile", data=dict(data, gln="8934567000019"))
    assert bad.status_code == 422

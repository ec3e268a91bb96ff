"""A farmer registers, waits for approval, and an admin approves or suspends."""

from __future__ import annotations

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


def test_registration_creates_a_pending_producer_and_logs_in(
    client: FlaskClient, session: Session
) -> None:
    response = client.post("/register", data=FORM)
    assert response.status_code == 302
    producer = session.exec(select(Producer)).one()
    assert producer.status == "pending"
    page = client.get("/farm/?lang=en").get_data(as_text=True)
    assert "awaiting approval" in page


def test_pending_farmer_cannot_add_products_until_approved(
    client: FlaskClient, session: Session, admin: User
) -> None:
    client.post("/register", data=FORM)
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
    client.post("/register", data=FORM)
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
        "Use at least 10 characters.",
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


def test_duplicate_email_and_registration_number_are_refused(
    client: FlaskClient, session: Session
) -> None:
    client.post("/register", data=FORM)
    other = client.application.test_client()
    response = other.post("/register?lang=en", data=FORM)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An account with this email already exists." in page
    assert "A producer with this number is already registered." in page
    assert len(session.exec(select(Producer)).all()) == 1


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

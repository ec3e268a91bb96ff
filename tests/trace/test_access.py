"""A farmer sees and changes only their own producer's data; no stack trace reaches a user."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from sqlmodel import Session, select

from tests.registry_fixtures import Farm, login
from trace.models import Certification, Event
from trace.services import holdings
from trace.services.holdings import CertificateFile

PDF = b"%PDF-1.4\n%%EOF\n"
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture
def b_cert(farm_b: Farm, session: Session, app: Flask) -> Certification:
    return holdings.add_certification(
        session,
        farm_b.actor,
        scheme="vietgap",
        number="B-1",
        issuer="X",
        valid_from=date(2025, 1, 1),
        valid_to=date(2027, 1, 1),
        upload_folder=app.config["UPLOAD_FOLDER"],
        max_bytes=10_000,
        pdf=CertificateFile("b.pdf", PDF),
    )


def test_other_producers_objects_look_exactly_like_missing_ones(
    login_as, farm_a: Farm, farm_b: Farm, b_cert
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    pairs = [
        (f"/lots/{farm_b.lot_id}", "/lots/999999"),
        (f"/lots/{farm_b.lot_id}/events/harvest", "/lots/999999/events/harvest"),
        (
            f"/farm/certifications/{b_cert.id}/certificate.pdf",
            "/farm/certifications/999999/certificate.pdf",
        ),
    ]
    for theirs, missing in pairs:
        a, b = client.get(theirs), client.get(missing)
        assert a.status_code == b.status_code == 404
        # Identical but for the page's own address in the language switch and the CSRF
        # token of the log-out form (it carries a timestamp: two requests may straddle a
        # second).
        assert page_without(a.get_data(as_text=True), theirs) == page_without(
            b.get_data(as_text=True), missing
        )


def page_without(html: str, path: str) -> str:
    return CSRF_VALUE.sub('name="csrf_token" value=""', html.replace(path, ""))


def test_farmer_cannot_post_events_on_another_producers_lot(
    login_as, farm_a: Farm, farm_b: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/lots/{farm_b.lot_id}/events/harvest",
        data={"occurred_at": "2026-01-01T08:00", "tz": "+07:00", "place": "x"},
    )
    assert response.status_code == 404
    assert session.exec(select(Event)).all() == []


def test_farmer_cannot_reach_admin_pages(login_as, farm_a: Farm, farm_b: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    producer_b = farm_b.user.producer_id
    assert client.get("/admin/producers").status_code == 404
    assert client.get(f"/admin/producers/{producer_b}").status_code == 404
    assert client.post(f"/admin/producers/{producer_b}/suspend").status_code == 404


def test_inspector_reads_any_lot_but_cannot_record_or_approve(
    app: Flask, inspector, farm_a: Farm
) -> None:  # type: ignore[no-untyped-def]
    client = login(app.test_client(), inspector.email)
    assert client.get(f"/lots/{farm_a.lot_id}").status_code == 200
    assert client.get(f"/admin/producers/{farm_a.user.producer_id}").status_code == 200
    assert client.post(f"/lots/{farm_a.lot_id}/events/harvest", data={}).status_code == 404
    assert client.post(f"/admin/producers/{farm_a.user.producer_id}/suspend").status_code == 404


@pytest.mark.parametrize("path", ["/farm/", "/lots/", "/lots/1", "/admin/producers", "/farm/plots"])
def test_anonymous_users_are_sent_to_login(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unexpected_errors_show_a_plain_page_without_a_trace(app: Flask, farm_a: Farm) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "secret internals" not in page and "Traceback" not in page


def test_unknown_route_gets_the_translated_404_page(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/no/such/page").get_data(as_text=True)
    assert "Không tìm thấy trang" in page

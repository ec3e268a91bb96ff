"""Plots, certifications (with their PDFs) and products of a producer."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta

from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from trace import gs1
from trace.models import Certification, Plot, Product

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def cert_form(**changes: object) -> dict[str, object]:
    today = date.today()
    form: dict[str, object] = {
        "scheme": "vietgap",
        "ocop_stars": "",
        "number": "VG-001",
        "issuer": "Trung tâm Chứng nhận",
        "valid_from": (today - timedelta(days=10)).isoformat(),
        "valid_to": (today + timedelta(days=300)).isoformat(),
        "producer_wide": "y",  # the form asks which products it covers
    }
    form.update(changes)
    return form


def test_plot_is_added_and_listed(login_as, farm_a: Farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        "/farm/plots",
        data={
            "name": "Ruộng Đông",
            "area_ha": "2,5".replace(",", "."),
            "latitude": "10.5",
            "longitude": "106.6",
        },
    )
    assert response.status_code == 302
    assert "Ruộng Đông" in client.get("/farm/plots").get_data(as_text=True)


def test_plot_with_bad_area_and_coordinates_is_refused(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    before = len(session.exec(select(Plot)).all())
    response = client.post(
        "/farm/plots", data={"name": "", "area_ha": "-1", "latitude": "95", "longitude": "abc"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." in page and "Must be greater than zero." in page
    assert "Must be between -90 and 90." in page and "Enter a number." in page
    assert len(session.exec(select(Plot)).all()) == before


def test_certification_pdf_is_stored_by_sha256_and_downloadable(
    login_as, farm_a: Farm, session: Session, app
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    data = cert_form(pdf=(io.BytesIO(PDF), "chung-nhan.pdf"))
    response = client.post("/farm/certifications", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    cert = session.exec(select(Certification)).one()
    assert cert.pdf_sha256 == hashlib.sha256(PDF).hexdigest()
    with client.get(f"/farm/certifications/{cert.id}/certificate.pdf") as download:
        assert download.status_code == 200 and download.data == PDF


def test_certification_refuses_a_non_pdf_and_an_oversized_file(
    login_as, farm_a: Farm, session: Session, app
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    fake = cert_form(pdf=(io.BytesIO(b"MZ\x90\x00 not a pdf"), "virus.pdf"))
    response = client.post("/farm/certifications", data=fake, content_type="multipart/form-data")
    assert response.status_code == 422 and "The file is not a PDF document." in response.get_data(
        as_text=True
    )
    app.config["CERTIFICATE_MAX_BYTES"] = 10
    big = cert_form(pdf=(io.BytesIO(PDF), "c.pdf"))
    response = client.post("/farm/certifications", data=big, content_type="multipart/form-data")
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)
    assert session.exec(select(Certification)).all() == []


def test_request_over_the_upload_cap_gets_a_clear_413_page(login_as, farm_a: Farm, app) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    data = cert_form(pdf=(io.BytesIO(PDF + b" " * 5000), "c.pdf"))
    response = client.post("/farm/certifications", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)


def test_certification_validity_must_be_in_order(login_as, farm_a: Farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        "/farm/certifications", data=cert_form(valid_from="2026-05-01", valid_to="2026-01-01")
    )
    assert response.status_code == 422
    assert "must come after its start" in response.get_data(as_text=True)
    assert session.exec(select(Certification)).all() == []


def test_expired_certification_is_shown_as_expired(login_as, farm_a: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    client.post(
        "/farm/certifications",
        data=cert_form(number="OLD-1", valid_from="2020-01-01", valid_to="2021-01-01"),
    )
    client.post("/farm/certifications", data=cert_form(number="NEW-1"))
    for path in ("/farm/certifications", f"/lots/{farm_a.lot_id}"):
        items = client.get(path).get_data(as_text=True).split("<li")
        old = next(item for item in items if "OLD-1" in item)
        new = next(item for item in items if "NEW-1" in item)
        assert 'badge bad">Expired' in old and "Declared by the producer" not in old
        # Nobody has checked it yet: declared, never "valid".
        assert 'badge pending">Declared by the producer, not verified' in new
        assert 'badge bad">Expired' not in new and ">Valid<" not in new


def test_ocop_needs_its_stars(login_as, farm_a: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post("/farm/certifications", data=cert_form(scheme="ocop"))
    assert "3, 4 or 5 stars" in response.get_data(as_text=True)
    assert (
        client.post(
            "/farm/certifications", data=cert_form(scheme="ocop", ocop_stars="4")
        ).status_code
        == 302
    )


def test_product_with_given_gtin_is_normalised_to_gtin14(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    gtin13 = "893456789012" + gs1.gs1_check_digit("893456789012")
    data = {
        "name_vi": "Chanh không hạt",
        "name_en": "Seedless lemon",
        "category": "fruit",
        "unit": "kg",
        "gtin": gtin13,
    }
    assert client.post("/farm/products", data=data).status_code == 302
    assert session.exec(select(Product).where(Product.gtin == "0" + gtin13)).one()


def test_product_gtin_with_wrong_check_digit_or_taken_is_refused(
    login_as, farm_a: Farm, farm_b: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    data = {
        "name_vi": "Chanh",
        "name_en": "Lemon",
        "category": "fruit",
        "unit": "kg",
        "gtin": "8934567890129",
    }
    response = client.post("/farm/products", data=data)
    assert response.status_code == 422 and "check digit" in response.get_data(as_text=True)
    taken = session.get(Product, farm_b.product_id).gtin
    response = client.post("/farm/products", data=dict(data, gtin=taken))
    assert "already registered" in response.get_data(as_text=True)


def test_generated_gtins_are_distinct_and_valid(login_as, farm_a: Farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    for name in ("A", "B", "C"):
        client.post(
            "/farm/products",
            data={"name_vi": name, "name_en": name, "category": "fruit", "unit": "kg", "gtin": ""},
        )
    gtins = [
        p.gtin
        for p in session.exec(select(Product).where(Product.producer_id == farm_a.user.producer_id))
    ]
    assert len(gtins) == 4 and len(set(gtins)) == 4
    assert all(gs1.is_valid_gtin(g) and len(g) == 14 for g in gtins)


def test_a_pdf_whose_streams_inflate_enormously_is_refused(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    import zlib

    bomb = zlib.compress(b"\0" * (80 * 1024 * 1024), 9)  # ~80 kB that inflates to 80 MB
    length = str(len(bomb)).encode()
    body = b"%PDF-1.7\n1 0 obj\n<< /Length " + length + b" /Filter /FlateDecode >>\nstream\n"
    pdf = body + bomb + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n"
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    data = cert_form(pdf=(io.BytesIO(pdf), "bomb.pdf"))
    response = client.post("/farm/certifications", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "expands to far more data" in response.get_data(as_text=True)
    assert session.exec(select(Certification)).all() == []


def test_a_pdf_with_ordinary_compressed_streams_is_accepted() -> None:
    import zlib

    from trace.services.holdings import inflated_size_exceeds

    stream = zlib.compress(b"BT /F1 12 Tf (VietGAP) Tj ET" * 1000)
    pdf = b"%PDF-1.7\nstream\n" + stream + b"\nendstream\n%%EOF\n"
    assert not inflated_size_exceeds(pdf, 1024 * 1024)
    assert inflated_size_exceeds(pdf, 1000)

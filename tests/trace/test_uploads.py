"""Uploads keep no client-chosen name: stored and served as the type their bytes show."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from tests.trace.test_holdings import cert_form
from trace.models import Certification
from trace.uploads import JPEG, PDF, PNG, detect

POLYGLOT = (
    b"%PDF-1.4\n<html><body><script>fetch('/farm/profile')</script></body></html>\n"
    b"1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
)
NOT_A_PDF = {"en": "The file is not a PDF document.", "vi": "Tệp không phải là tài liệu PDF."}


def upload(client: Any, content: bytes, name: str) -> Any:
    data = cert_form(pdf=(io.BytesIO(content), name), producer_wide="y")
    return client.post("/farm/certifications", data=data, content_type="multipart/form-data")


def test_a_pdf_html_polyglot_named_html_is_kept_and_served_only_as_a_pdf(
    login_as: Any, farm_a: Farm, session: Session, app: Any
) -> None:
    client = login_as(farm_a.email)
    assert upload(client, POLYGLOT, "evil.html").status_code == 302
    cert = session.exec(select(Certification)).one()
    assert cert.pdf_filename == f"certificate-{cert.pdf_sha256[:16]}.pdf"  # type: ignore[index]
    stored = [p.name for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]
    assert stored == [f"{cert.pdf_sha256}.pdf"]

    with client.get(f"/farm/certifications/{cert.id}/certificate.pdf") as download:
        assert download.status_code == 200 and download.data == POLYGLOT
        assert download.mimetype == "application/pdf"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        disposition = download.headers["Content-Disposition"]
    assert "html" not in disposition
    assert re.fullmatch(
        r'inline; filename="certificate-[0-9a-f]{16}\.pdf"; '
        r"filename\*=UTF-8''certificate-[0-9a-f]{16}\.pdf",
        disposition,
    )


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<!doctype html><script>alert(1)</script>", "chung-nhan.pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "anh.pdf"),
    ],
)
def test_a_file_that_is_not_a_pdf_is_refused_next_to_its_field(
    login_as: Any, farm_a: Farm, session: Session, lang: str, content: bytes, name: str
) -> None:
    client = login_as(farm_a.email)
    client.set_cookie("lang", lang)
    response = upload(client, content, name)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="pdf-error">{NOT_A_PDF[lang]}</p>' in page
    assert session.exec(select(Certification)).all() == []


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", PDF),
        (b"\x89PNG\r\n\x1a\n....", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"<html>%PDF-", None),
        (b"", None),
    ],
)
def test_file_types_are_told_by_their_first_bytes(head: bytes, kind: object) -> None:
    assert detect(head) is kind

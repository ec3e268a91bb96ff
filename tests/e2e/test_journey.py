"""From a farmer's registration to a consumer's phone, in a real browser against a real server.

A producer registers on a phone, an administrator approves it, the farmer records a plot,
a product, a certification (PDF) that covers it, a lot and its events, mints stamps and
activates them, and downloads the label sheet; a consumer opens a stamp from that sheet in
Vietnamese and English and sees it genuine, then recalled once an inspector recalls the lot
through the API. Every page must load under the Content-Security-Policy without a violation.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tests.conftest import FAST_HASH
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PHONE, LiveServer
from trace.models import Role, User
from trace.services import accounts, tokens
from trace.services.access import Actor

pytestmark = pytest.mark.xdist_group("e2e")

FARMER = {"email": "chi.nguyen@e2e.example.vn", "password": "thanh long 2024"}
PRODUCER = "HTX Thanh Long Châu Thành"
PRODUCT_VI, PRODUCT_EN = "Thanh long ruột đỏ", "Red dragon fruit"
LOT_CODE = "TL-E2E-01"
STAMPS = 6
CERTIFICATE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class Browsing:
    """One person's browser: a phone-sized context that records CSP violations."""

    def __init__(self, browser: Any, server: LiveServer, shots: Path, locale: str = "vi-VN"):
        self.context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True)
        self.page = self.context.new_page()
        self.server, self.shots, self.violations = server, shots, []
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.violations.append(f"{self.page.url}: {message.text}")

    def open(self, path: str) -> Any:
        response = self.page.goto(path if path.startswith("http") else self.server.url + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    def fill(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self.page.fill(f"[name={name}]", value)

    def submit(self, form: str = "main form[method=post]") -> None:
        with self.page.expect_navigation():
            self.page.locator(form).last.locator("button[type=submit]").click()
        assert not self.page.locator(".error").count(), self.page.inner_text("main")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def test_producer_to_consumer_journey(
    browser: Any, live_server: LiveServer, artifacts: Path
) -> None:
    farmer = Browsing(browser, live_server, artifacts)
    register(farmer)
    approve_as_admin(Browsing(browser, live_server, artifacts))
    lot_id = record_lot(farmer)
    pdf = mint_and_download_labels(farmer, lot_id)
    uris = decode_label_sheet(pdf)
    assert len(uris) == STAMPS and all(u.startswith(live_server.url + "/01/") for u in uris)

    consumer = Browsing(browser, live_server, artifacts)
    consumer.open(uris[0])
    assert consumer.page.locator("html").get_attribute("lang") == "vi"
    assert consumer.page.inner_text(".verdict-word") == "Chính hãng"
    assert PRODUCT_VI in consumer.page.inner_text("h1")
    assert PRODUCER in consumer.page.inner_text("dl.facts")
    consumer.shot("05-scan-genuine-vi")
    with consumer.page.expect_navigation():
        consumer.page.click("a.lang")
    assert consumer.page.inner_text(".verdict-word") == "Genuine"
    assert PRODUCT_EN in consumer.page.inner_text("h1")
    consumer.shot("06-scan-genuine-en")

    recall_as_inspector(live_server, consumer.context.request, lot_id)
    consumer.open(uris[1])
    assert consumer.page.inner_text(".verdict-word") == "Recalled"
    assert "Do not eat it" in consumer.page.inner_text(".verdict")
    consumer.shot("07-scan-recalled-en")
    with consumer.page.expect_navigation():
        consumer.page.click("a.lang")
    assert consumer.page.inner_text(".verdict-word") == "Đã thu hồi"
    consumer.shot("08-scan-recalled-vi")

    assert farmer.violations == consumer.violations == []


def register(farmer: Browsing) -> None:
    farmer.open("/register")
    farmer.fill(
        {
            "full_name": "Nguyễn Thị Chi",
            **FARMER,
            "name": PRODUCER,
            "registration_number": "1101234567",
            "phone": "0912 345 678",
            "address_line": "Ấp Phú Hòa",
            "commune": "Xã An Lục Long",
            "district": "Huyện Châu Thành",
            "company_prefix": "893612345",
        }
    )
    farmer.page.select_option("[name=kind]", "cooperative")
    farmer.shot("01-register-phone")
    farmer.submit()
    assert farmer.page.url.endswith("/login")  # registering never says who has an account
    farmer.fill(FARMER)
    farmer.submit()
    assert farmer.page.url.endswith("/farm/")


def approve_as_admin(admin: Browsing) -> None:
    admin.open("/login")
    admin.fill({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin.submit()
    admin.open("/admin/producers?status=pending")
    item = admin.page.locator("ul.cards li", has_text=PRODUCER)
    with admin.page.expect_navigation():
        item.locator("form[action$='/approve'] button").click()
    admin.open("/admin/producers?status=approved")
    assert admin.page.locator("ul.cards li", has_text=PRODUCER).count() == 1
    admin.shot("02-admin-approved")
    assert admin.violations == []


def record_lot(farmer: Browsing) -> int:
    farmer.open("/farm/plots")
    farmer.fill(
        {"name": "Vườn bờ sông", "area_ha": "1.2", "latitude": "10.45", "longitude": "106.5"}
    )
    farmer.submit()
    farmer.open("/farm/products")
    farmer.fill({"name_vi": PRODUCT_VI, "name_en": PRODUCT_EN})
    farmer.page.select_option("[name=category]", "fruit")
    farmer.submit()
    # A certification names the products it covers, so the product comes first.
    farmer.open("/farm/certifications")
    farmer.page.select_option("[name=scheme]", "vietgap")
    farmer.page.select_option("[name=product_ids]", index=0)
    today = date.today()
    farmer.fill(
        {
            "number": "VietGAP-TT-24-01",
            "issuer": "Trung tâm Chứng nhận Long An",
            "valid_from": (today - timedelta(days=30)).isoformat(),
            "valid_to": (today + timedelta(days=700)).isoformat(),
        }
    )
    farmer.page.set_input_files(
        "[name=pdf]",
        {"name": "chung-nhan.pdf", "mimeType": "application/pdf", "buffer": CERTIFICATE},
    )
    farmer.submit()
    certified = farmer.page.inner_text("ul.cards")
    assert "VietGAP-TT-24-01" in certified and PRODUCT_VI in certified
    farmer.open("/lots/")
    # Picked yesterday: this morning's 07:30 in Vietnam is still ahead just after midnight UTC.
    picked = today - timedelta(days=1)
    farmer.fill({"code": LOT_CODE, "harvest_date": picked.isoformat(), "quantity": "800"})
    farmer.submit()
    lot_id = int(re.search(r"/lots/(\d+)$", farmer.page.url).group(1))  # type: ignore[union-attr]
    for kind, place in (("harvest", "Vườn bờ sông"), ("initial_packing", "Kho HTX")):
        farmer.open(f"/lots/{lot_id}/events/{kind}")
        farmer.fill({"occurred_at": f"{picked.isoformat()}T07:30", "place": place})
        farmer.submit()
    assert farmer.page.locator("ol.timeline li").count() == 2
    farmer.shot("03-lot-timeline")
    return lot_id


def mint_and_download_labels(farmer: Browsing, lot_id: int) -> bytes:
    farmer.open(f"/lots/{lot_id}/stamps")
    farmer.fill({"mint-count": str(STAMPS), "mint-pack_size": "1"})
    farmer.submit("main form[method=post]:not([action])")
    farmer.submit("main form[action*='/activate']")
    assert farmer.page.locator(".badge.ok").count() == 1
    farmer.shot("04-stamps-active")
    with farmer.page.expect_download() as download:
        farmer.page.locator("a[href*='labels.pdf']").first.click()
    return Path(download.value.path()).read_bytes()


def decode_label_sheet(pdf: bytes) -> list[str]:
    """The stamp URIs printed as QR codes on the first page of a label sheet."""
    import pypdfium2
    import zxingcpp

    assert pdf.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        image = document[0].render(scale=300 / 72, grayscale=True).to_pil()
    finally:
        document.close()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode"))
    return sorted(result.text for result in found if result.valid)


def recall_as_inspector(server: LiveServer, api: Any, lot_id: int) -> None:
    """An inspector with a recall-scoped token recalls the lot through the API."""
    with server.session() as session:
        inspector = accounts.create_user(
            session, "inspector@e2e.example.vn", "kho lạnh bến lức 7", Role.INSPECTOR, FAST_HASH
        )
        admin = session.exec(select(User).where(User.role == Role.ADMIN)).one()
        operator = Actor(user_id=admin.id, role=Role.ADMIN)  # type: ignore[arg-type]
        issued = tokens.issue_token(session, operator, inspector.email, ["recall"])
    response = api.post(
        f"{server.url}/api/v1/batches/{lot_id}/recall",
        data={"reason": "Dư lượng thuốc bảo vệ thực vật vượt ngưỡng"},
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    assert response.status == 200, response.text()
    assert response.json()["stamps"]["recalled"] == STAMPS


def test_api_docs_render_offline_under_the_content_security_policy(
    browser: Any, live_server: LiveServer, artifacts: Path
) -> None:
    inspector = Browsing(browser, live_server, artifacts, locale="en-US")
    requested: list[str] = []
    inspector.page.on("request", lambda request: requested.append(request.url))
    inspector.open("/api/docs")
    inspector.page.wait_for_selector(".swagger-ui .info .title")
    assert "AgriTrace inspector API" in inspector.page.inner_text(".swagger-ui .info .title")
    assert inspector.page.locator(".opblock-summary-path", has_text="/recall").count() >= 1
    inspector.shot("09-api-docs")
    assert [url for url in requested if not url.startswith(live_server.url)] == []
    assert inspector.violations == []

"""The lot page a marketplace listing links to, on a phone: it fits and its passport downloads.

Found by walking issue 22's "tried as a new user would": the passport's traceability code (a
long GS1 URI) widened the page to 558 px on a 390 px screen, the phone zoomed out, and a tap
on "download the passport" landed on another element.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tests.conftest import FAST_HASH
from tests.e2e.conftest import ADMIN_EMAIL, PHONE, LiveServer
from trace.models import Lot, Product, User
from trace.seed import FARMS, _seed_farm
from trace.services import accounts

pytestmark = pytest.mark.xdist_group("e2e")


def demo_lot_path(server: LiveServer) -> str:
    """The Digital Link path of the first demo farm's lot, seeded through the services."""
    with server.session() as session:
        admin = session.exec(select(User).where(User.email == ADMIN_EMAIL)).one()
        _seed_farm(session, FARMS[0], accounts.actor_for(admin), FAST_HASH, date.today())
        lot = session.exec(select(Lot)).one()
        product = session.get(Product, lot.product_id)
        assert product is not None
        return f"/01/{product.gtin}/10/{lot.code}"


def test_lot_page_fits_a_phone_and_its_passport_downloads_on_tap(
    live_server: LiveServer, browser: Any, artifacts: Path
) -> None:
    path = demo_lot_path(live_server)
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200
        page.screenshot(path=str(artifacts / "lot-page-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        passport = page.locator("#passport + dl.passport")
        assert "VietGAP VG-LA-" in passport.inner_text()
        with page.expect_download(timeout=10_000) as download:
            page.get_by_text("Tải hộ chiếu số (JSON-LD)").tap(timeout=10_000)
        assert download.value.suggested_filename.endswith(".jsonld")
    finally:
        context.close()

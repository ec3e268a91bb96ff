"""The farmer's and admin's marketplace pages, with CSRF on as in production."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import update
from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from tests.marketplace.conftest import SandboxAdmin, gtin, offer, stamp
from tests.registry_fixtures import PASSWORD, Farm
from trace.models import User

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return app_config | {"WTF_CSRF_ENABLED": True, "MARKETPLACE_MAX_ATTEMPTS": 2}


def token_in(page: str) -> str:
    found = TOKEN.search(page)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


@pytest.fixture
def browser(app: Flask) -> Callable[[str], FlaskClient]:
    """A client logged in through the real login form (token and all), in English."""

    def log_in(email: str) -> FlaskClient:
        client = app.test_client()
        client.get("/lang/en")
        token = token_in(client.get("/login").get_data(as_text=True))
        sent = {"email": email, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=sent).status_code == 302
        return client

    return log_in


def form(farm_price: str = "35000", stock: str = "40", on: tuple[str, ...] = ("postmart", "voso")):  # type: ignore[no-untyped-def]
    fields: dict[str, str] = {}
    for name in ("postmart", "voso"):
        fields |= {f"{name}_price_vnd": farm_price, f"{name}_stock": stock}
        if name in on:
            fields[f"{name}_enabled"] = "y"
    return fields


def rows(session: Session) -> list[ListingSync]:
    found = session.exec(select(ListingSync).order_by(ListingSync.marketplace)).all()
    for row in found:
        session.refresh(row)
    return list(found)


def test_a_farmer_ticks_both_marketplaces_and_sees_the_listings_synced(
    session: Session,
    farm_a: Farm,
    browser: Callable[[str], FlaskClient],
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
) -> None:
    farmer = browser(farm_a.email)
    page = f"/marketplace/products/{farm_a.product_id}"
    shown = farmer.get(page).get_data(as_text=True)
    assert "Sell on postmart.vn" in shown and "Sell on voso.vn" in shown
    sent = farmer.post(page, data=form() | {"csrf_token": token_in(shown)})
    assert (sent.status_code, sent.headers["Location"]) == (302, page)
    assert [(r.marketplace, r.state) for r in rows(session)] == [
        ("postmart", ListingState.SYNCING),
        ("voso", ListingState.SYNCING),
    ]
    assert "Pending" in farmer.get(page).get_data(as_text=True)
    work()
    after = farmer.get(page).get_data(as_text=True)
    assert after.count("Synced") == 2 and "Last sync" in after
    assert [item["sku"] for item in postmart_admin.listings()] == [gtin(session, farm_a)]


def test_the_last_sync_shows_in_vietnam_time(
    session: Session, farm_a: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    farmer = browser(farm_a.email)
    page = f"/marketplace/products/{farm_a.product_id}"
    sent = farmer.post(page, data=form() | {"csrf_token": token_in(farmer.get(page).text)})
    assert sent.status_code == 302
    synced = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    session.execute(update(ListingSync).values(state=ListingState.LISTED, last_synced_at=synced))
    session.commit()
    for shown in (farmer.get(page).text, farmer.get("/marketplace/").text):
        assert shown.count("Last sync 2026-03-02 00:30 UTC+07:00") == 2  # postmart and voso
        assert "17:30" not in shown


def test_the_listing_form_without_its_token_is_refused(
    session: Session, farm_a: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    farmer = browser(farm_a.email)
    response = farmer.post(f"/marketplace/products/{farm_a.product_id}", data=form())
    assert response.status_code == 400
    assert "Reload the page and send it again." in response.get_data(as_text=True)
    assert rows(session) == []


def test_a_price_that_is_not_a_number_gets_a_clear_message_and_saves_nothing(
    session: Session, farm_a: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    farmer = browser(farm_a.email)
    page = f"/marketplace/products/{farm_a.product_id}"
    token = token_in(farmer.get(page).get_data(as_text=True))
    response = farmer.post(page, data=form("ba mươi nghìn", "-3") | {"csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a whole number." in body and "Traceback" not in body
    assert rows(session) == []


def test_another_farmers_product_page_is_not_found(
    farm_a: Farm, farm_b: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    other = browser(farm_b.email)
    assert other.get(f"/marketplace/products/{farm_a.product_id}").status_code == 404


@pytest.fixture
def dead_letter(
    session: Session, farm_a: Farm, work: Callable[..., int], voso_admin: SandboxAdmin
) -> ListingSync:
    """farm_a's voso listing, given up after two server errors."""
    work()
    voso_admin.fail_next("5xx", "5xx", path="/api/")
    offer(session, farm_a, on=["voso"])
    work()
    [row] = rows(session)
    assert row.state == ListingState.FAILED
    return row


def test_the_farmer_and_the_admin_see_a_failed_listing_with_its_error_and_a_retry_button(
    farm_a: Farm,
    farm_b: Farm,
    admin: User,
    dead_letter: ListingSync,
    browser: Callable[[str], FlaskClient],
) -> None:
    retry = f'action="/marketplace/listings/{dead_letter.id}/retry"'
    for email in (farm_a.email, admin.email):
        page = browser(email).get("/marketplace/").get_data(as_text=True)
        assert "Red dragon fruit" in page and "voso.vn" in page, email
        assert "injected server error" in page and retry in page, email
    others = browser(farm_b.email).get("/marketplace/").get_data(as_text=True)
    assert retry not in others and "None: every listing was sent." in others


def test_the_admin_retries_a_failed_listing_and_it_is_listed(
    session: Session,
    admin: User,
    dead_letter: ListingSync,
    browser: Callable[[str], FlaskClient],
    work: Callable[..., int],
    voso_admin: SandboxAdmin,
) -> None:
    staff = browser(admin.email)
    path = f"/marketplace/listings/{dead_letter.id}/retry"
    assert staff.post(path).status_code == 400  # no CSRF token
    assert rows(session)[0].state == ListingState.FAILED
    token = token_in(staff.get("/marketplace/").get_data(as_text=True))
    assert staff.post(path, data={"csrf_token": token}).status_code == 302
    assert rows(session)[0].state == ListingState.SYNCING
    work()
    assert rows(session)[0].state == ListingState.LISTED
    assert len(voso_admin.listings()) == 1
    page = staff.get("/marketplace/").get_data(as_text=True)
    assert "None: every listing was sent." in page


def test_the_farmer_retries_from_the_product_page(
    session: Session,
    farm_a: Farm,
    dead_letter: ListingSync,
    browser: Callable[[str], FlaskClient],
    work: Callable[..., int],
) -> None:
    farmer = browser(farm_a.email)
    page = f"/marketplace/products/{farm_a.product_id}"
    shown = farmer.get(page).get_data(as_text=True)
    assert "Error" in shown and f"/marketplace/listings/{dead_letter.id}/retry" in shown
    sent = farmer.post(
        f"/marketplace/listings/{dead_letter.id}/retry", data={"csrf_token": token_in(shown)}
    )
    assert sent.headers["Location"] == page
    work()
    assert rows(session)[0].state == ListingState.LISTED


def test_nobody_else_may_retry_a_farmers_listing(
    session: Session,
    farm_b: Farm,
    inspector: User,
    dead_letter: ListingSync,
    browser: Callable[[str], FlaskClient],
) -> None:
    for email in (farm_b.email, inspector.email):
        client = browser(email)
        token = token_in(client.get("/", follow_redirects=True).get_data(as_text=True))
        sent = client.post(
            f"/marketplace/listings/{dead_letter.id}/retry", data={"csrf_token": token}
        )
        assert sent.status_code == 404, email
    assert rows(session)[0].state == ListingState.FAILED


# --- CSV feeds and QR images --------------------------------------------------------------


def feed(client: FlaskClient, name: str) -> list[dict[str, str]]:
    response = client.get(f"/marketplace/{name}/feed.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{name}-feed.csv"' in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_each_marketplace_feed_lists_the_farmers_offered_products_in_its_own_fields(
    session: Session, farm_a: Farm, farm_b: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    stamp(session, farm_a, 25)
    offer(session, farm_a, price="35.000", stock="40", on=["postmart"])
    sku, farmer = gtin(session, farm_a), browser(farm_a.email)
    [row] = feed(farmer, "postmart")
    assert (row["ma_sku"], row["gia_ban"], row["so_luong"]) == (sku, "35000", "25")
    # One lot on sale: the trace link lands on that lot's page.
    assert row["truy_xuat.duong_dan"] == f"https://trace.example.vn/01/{sku}/10/TL-1"
    assert row["ten_san_pham"] == "Thanh long ruột đỏ" and row["danh_muc"] == "NS-TRAI-CAY"
    voso = feed(farmer, "voso")
    assert voso == []  # not offered there
    offer(session, farm_a, price="35000", stock="40")
    [item] = feed(farmer, "voso")
    assert (item["item_sku"], item["price"], item["traceability.url"]) == (
        sku,
        "35000",
        f"https://trace.example.vn/01/{sku}/10/TL-1",
    )
    assert feed(browser(farm_b.email), "postmart") == []


def test_a_feed_of_an_unknown_marketplace_is_a_plain_not_found_page(
    farm_a: Farm, browser: Callable[[str], FlaskClient]
) -> None:
    response = browser(farm_a.email).get("/marketplace/shopee/feed.csv")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Page not found" in response.get_data(as_text=True)


def test_the_lot_qr_shown_on_a_listing_scans_to_the_lots_trace_page(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    offer(session, farm_a)
    response = app.test_client().get(f"/marketplace/lots/{farm_a.lot_id}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert code.text == f"https://trace.example.vn/01/{gtin(session, farm_a)}/10/TL-1"


def test_qr_images_exist_only_for_products_offered_on_a_marketplace(
    app: Flask, farm_a: Farm
) -> None:
    client = app.test_client()
    assert client.get(f"/marketplace/lots/{farm_a.lot_id}/qr.png").status_code == 404
    assert client.get(f"/marketplace/products/{farm_a.product_id}/qr.png").status_code == 404

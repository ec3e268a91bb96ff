"""A listing's lots and the product page's lots on sale are the same lots."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from marketplace.listing import desired_listing
from tests.marketplace.conftest import gtin, offer, stamp
from tests.registry_fixtures import Farm
from trace.services import lots

PHONE = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile",
    "Accept": "application/json",
}


def test_a_lot_repacked_whole_is_on_sale_on_neither_the_listing_nor_the_product_page(
    app: Flask, client: FlaskClient, session: Session, farm_a: Farm
) -> None:
    when = datetime.now().astimezone() - timedelta(hours=1)
    new = lots.NewLot(farm_a.product_id, "TL-1-REPACK", None, "500", "kg")
    repack = lots.transform_lots(
        session, farm_a.actor, [farm_a.lot_id], new, when, "Xưởng đóng gói", when.date()
    )
    stamp(session, farm_a, 3, lot_id=repack.id)
    [row, *_] = offer(session, farm_a)
    with app.test_request_context():
        listing = desired_listing(session, row, "https://trace.example.vn")
    page = client.get(f"/01/{gtin(session, farm_a)}", headers=PHONE).json
    assert [lot.code for lot in listing.lots] == ["TL-1-REPACK"]
    assert [lot["code"] for lot in page["lots_on_sale"]] == ["TL-1-REPACK"]
    assert listing.trace_url.endswith("/10/TL-1-REPACK")

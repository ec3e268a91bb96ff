"""Stored markup in free text is shown as text on every page and PDF; SQL in queries is data."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from stamps import minting
from stamps.models import Stamp, StampRun
from tests.registry_fixtures import Farm
from trace.models import Lot, Plot, Producer, Product

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
SQL = ["' OR '1'='1", "1; DROP TABLE lots; --", "%' UNION SELECT password_hash FROM users --"]


@pytest.fixture
def tainted(session: Session, farm_a: Farm) -> Farm:
    """Farm A with markup in its producer, product, plot names and an event note."""
    for model, object_id, columns in (
        (Producer, farm_a.user.producer_id, ("name", "commune")),
        (Product, farm_a.product_id, ("name_vi", "name_en")),
        (Plot, farm_a.plot_id, ("name",)),
    ):
        row = session.get(model, object_id)
        for column in columns:
            setattr(row, column, f"{getattr(row, column)} {XSS}")
        session.add(row)
    session.commit()
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    return farm_a


def pages(session: Session, farm: Farm) -> dict[str, list[str]]:
    """Each page showing the tainted fields, and who may open it."""
    lot = session.get(Lot, farm.lot_id)
    gtin = session.get(Product, farm.product_id).gtin  # type: ignore[union-attr]
    serial = session.exec(select(Stamp.serial)).first()
    return {
        "farmer": [
            "/farm/",
            "/farm/profile",
            "/farm/products",
            "/farm/plots",
            "/lots/",
            f"/lots/{farm.lot_id}",
            f"/lots/{farm.lot_id}/stamps",
            f"/marketplace/products/{farm.product_id}",
        ],
        "admin": ["/admin/producers", f"/admin/producers/{farm.user.producer_id}"],
        "consumer": [f"/01/{gtin}/10/{lot.code}/21/{serial}"],  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_stored_markup_is_escaped_on_every_page(
    app: Flask, session: Session, tainted: Farm, admin: Any, login_as: Any, lang: str
) -> None:
    clients = {
        "farmer": login_as(tainted.email),
        "admin": login_as(admin.email),
        "consumer": app.test_client(),
    }
    for who, urls in pages(session, tainted).items():
        clients[who].set_cookie("lang", lang)
        for url in urls:
            html = clients[who].get(url).get_data(as_text=True)
            assert "<script>alert" not in html and "<img src=x" not in html, url
            assert ESCAPED in html, url


def test_label_sheet_prints_markup_as_plain_text(
    session: Session, tainted: Farm, login_as: Any
) -> None:
    import pypdfium2

    run = session.exec(select(StampRun)).one()
    response = login_as(tainted.email).get(f"/runs/{run.id}/labels.pdf")
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(io.BytesIO(response.data))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "<script>" in text.replace("\r", "").replace("\n", "")  # shown, not interpreted


def listed(client: Any, **params: str) -> list[str]:
    response = client.get("/admin/producers", query_string=params)
    assert response.status_code == 200
    return re.findall(r'href="/admin/producers/(\d+)"', response.get_data(as_text=True))


@pytest.mark.parametrize("payload", SQL)
def test_sql_in_query_parameters_changes_nothing(
    session: Session, farm_a: Farm, farm_b: Farm, admin: Any, login_as: Any, payload: str
) -> None:
    client = login_as(admin.email)
    before = session.exec(select(Producer.id, Producer.name, Producer.status)).all()
    everyone = listed(client)
    assert len(everyone) == 2
    assert listed(client, q=payload) == []  # searched as text: nobody is called that
    assert listed(client, status=payload) == everyone  # an unknown status filters nothing
    assert listed(client, q=payload, status="approved") == []
    session.expire_all()
    assert session.exec(select(Producer.id, Producer.name, Producer.status)).all() == before
    assert session.get(Lot, farm_a.lot_id) is not None

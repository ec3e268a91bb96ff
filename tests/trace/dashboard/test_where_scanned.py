"""The dashboard counts real scans where they happened, and real recalls and inspections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from tests.trace.dashboard.test_charts import read_csv
from trace.models import Lot, Product, User
from trace.services.access import Actor
from trace.services.inspections import Inspection, record_inspection
from trace.services.recall import recall_hooks, recall_lot

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}


def paths(session: Session, farm: Farm, n: int) -> list[str]:
    minting.mint_stamps(session, farm.actor, farm.lot_id, n, "1")
    lot = session.get(Lot, farm.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.id))).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]


def scan(client: FlaskClient, path: str, addr: str, **params: str) -> Any:
    response = client.get(
        path, headers=PHONE, query_string=params, environ_base={"REMOTE_ADDR": addr}
    )
    assert response.status_code == 200


def test_a_scan_counts_where_the_consumer_was_not_where_the_product_was_made(
    client: FlaskClient,
    session: Session,
    farm_a: Farm,
    admin: User,
    login_as: Callable[[str], FlaskClient],
) -> None:
    first, second = paths(session, farm_a, 2)  # farm A is in Châu Thành
    scan(client, first, "203.0.113.1", consent="1", geo="10.5400,106.4100")  # in Tân An
    scan(client, first, "203.0.113.1", consent="1", geo="10.5400,106.4100")  # a reload
    scan(client, first, "203.0.113.2", geo="10.5400,106.4100")  # no consent: not shared
    scan(client, second, "203.0.113.3", consent="1", province="Hà Nội")
    _districts, cells = read_csv(login_as(admin.email), "scans-by-district", {})
    assert cells == {
        ("tan-an", "scans"): 1,
        ("elsewhere", "scans"): 1,
        ("unknown", "scans"): 1,
    }


def test_the_dashboard_shows_a_recall_and_a_failed_inspection_in_the_producer_s_district(
    app: Flask,
    session: Session,
    farm_a: Farm,
    inspector: User,
    admin: User,
    login_as: Callable[[str], FlaskClient],
    tmp_path: Any,
) -> None:
    officer = Actor(inspector.id, inspector.role)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    record_inspection(session, officer, farm_a.lot_id, Inspection("fail"), now, str(tmp_path))
    with app.app_context():
        recall_lot(session, officer, farm_a.lot_id, "Dư lượng thuốc BVTV", recall_hooks(app))
    session.commit()
    _districts, cells = read_csv(login_as(admin.email), "oversight-by-district", {})
    assert cells[("chau-thanh", "recalls")] == 1
    assert cells[("chau-thanh", "inspections_fail")] == 1
    assert cells[("chau-thanh", "alerts")] >= 1  # the recall's alert
    page = login_as(admin.email).get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Recalls, inspections, tampering and alerts by district" in page
    assert "Open flags by district" in page

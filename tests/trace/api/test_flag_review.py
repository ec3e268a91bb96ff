"""Inspectors review clone flags (API and page); admins set the clone limits; consumers
read what a flag means."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlmodel import Session, select

from stamps.models import Stamp, StampFlag
from tests.registry_fixtures import Farm, login
from trace.models import Lot, Product, User

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}


@pytest.fixture
def stamp_path(session: Session, farm_a: Farm, stamped: list[str]) -> str:
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    return f"/01/{gtin}/10/{lot.code}/21/{stamped[0]}"


def scan(client: FlaskClient, path: str, addr: str, **params: str) -> dict[str, Any]:
    response = client.get(
        path, headers=JSON, query_string=params, environ_base={"REMOTE_ADDR": addr}
    )
    assert response.status_code == 200
    return response.json


def flag_by_travel(client: FlaskClient, path: str) -> dict[str, Any]:
    scan(client, path, "203.0.113.1", consent="1", province="Hà Nội")
    return scan(client, path, "203.0.113.2", consent="1", province="Cà Mau")


def open_flag_id(inspector_api: Any) -> int:
    listed = inspector_api.get("/api/v1/flags", query_string={"review": "open"}).json
    return int(listed["items"][0]["id"])


def test_a_dismissed_flag_stops_showing_until_new_evidence(
    client: FlaskClient, inspector_api: Any, stamp_path: str
) -> None:
    assert flag_by_travel(client, stamp_path)["verdict"] == "SUSPICIOUS"
    flag_id = open_flag_id(inspector_api)
    reviewed = inspector_api.post(
        f"/api/v1/flags/{flag_id}/review",
        json={"decision": "dismissed", "note": "Hai người cùng nhà, một người đi máy bay."},
    )
    assert reviewed.status_code == 200, reviewed.json
    assert reviewed.json["review"] == "dismissed" and reviewed.json["stamp_flagged"] is False
    honest = scan(client, stamp_path, "198.51.100.5")
    assert honest["verdict"] == "GENUINE" and honest["flags"] == []
    anew = scan(client, stamp_path, "198.51.100.6", consent="1", province="Hà Nội")
    assert anew["verdict"] == "SUSPICIOUS"  # a third phone, far away again: new evidence


def test_a_confirmed_flag_stays_suspicious_and_the_page_says_why(
    client: FlaskClient, inspector_api: Any, stamp_path: str
) -> None:
    flag_by_travel(client, stamp_path)
    reviewed = inspector_api.post(
        f"/api/v1/flags/{open_flag_id(inspector_api)}/review",
        json={"decision": "confirmed", "note": "Nhãn sao chép tại chợ đầu mối."},
    )
    assert reviewed.status_code == 200 and reviewed.json["stamp_flagged"] is True
    vi = client.get(stamp_path, headers=PHONE).get_data(as_text=True)
    assert "Đáng ngờ" in vi and "Hai điện thoại khác nhau" in vi and "Cà Mau" in vi
    assert "Cán bộ kiểm tra đã xác nhận" in vi
    en = client.get(stamp_path + "?lang=en", headers=PHONE).get_data(as_text=True)
    assert "Two different phones scanned this same label" in en
    assert "An inspector has confirmed it." in en


def test_only_inspectors_review_and_a_note_is_needed(
    client: FlaskClient, inspector_api: Any, api_as: Any, token_for: Any, farm_a: Farm,
    inspector: User, stamp_path: str,
) -> None:  # fmt: skip
    flag_by_travel(client, stamp_path)
    flag_id = open_flag_id(inspector_api)
    decision = {"decision": "dismissed", "note": "không phải hàng giả"}
    farmer = api_as(token_for(farm_a.user, "read", "mint"))  # farmers get no capture scope
    assert farmer.post(f"/api/v1/flags/{flag_id}/review", json=decision).status_code == 403
    reader = api_as(token_for(inspector, "read"))
    assert reader.post(f"/api/v1/flags/{flag_id}/review", json=decision).status_code == 403
    no_note = {"decision": "dismissed", "note": ""}
    assert inspector_api.post(f"/api/v1/flags/{flag_id}/review", json=no_note).status_code == 422
    assert inspector_api.post("/api/v1/flags/999999/review", json=decision).status_code == 404


def test_an_inspector_dismisses_a_flag_with_the_page_button(
    client: FlaskClient, session: Session, inspector: User, stamp_path: str
) -> None:
    flag_by_travel(client, stamp_path)
    page = login(client, inspector.email)
    html = page.get("/inspect/flags").get_data(as_text=True)
    action = re.search(r'action="(/inspect/flags/\d+/review[^"]*)"', html)[1]  # type: ignore[index]
    saved = page.post(
        action.replace("&amp;", "&"),
        data={"decision": "dismissed", "note": "Khách du lịch, đã gọi điện xác minh."},
    )
    assert saved.status_code == 302
    assert session.exec(select(StampFlag.review)).all() == ["dismissed"]
    assert session.exec(select(Stamp.flagged).where(Stamp.flagged)).all() == []
    assert "Khách du lịch" in page.get("/inspect/flags?review=dismissed").get_data(as_text=True)


def test_the_flag_page_shows_when_a_flag_was_raised_in_vietnam_time(
    client: FlaskClient, session: Session, inspector: User, stamp_path: str
) -> None:
    flag_by_travel(client, stamp_path)
    session.execute(update(StampFlag).values(created_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC)))
    session.commit()
    html = login(client, inspector.email).get("/inspect/flags").get_data(as_text=True)
    assert "2026-03-02 00:30 UTC+07:00" in html  # Asia/Ho_Chi_Minh: the next morning
    assert "17:30" not in html


def test_admins_set_limits_per_product_over_the_province_default(
    client: FlaskClient, session: Session, api_as: Any, token_for: Any, admin: User,
    farm_a: Farm, stamp_path: str,
) -> None:  # fmt: skip
    admin_api = api_as(token_for(admin, "read", "admin"))
    headers = admin_api.headers
    default = client.put("/api/v1/clone-limits/default", json={"max_scans": 2}, headers=headers)
    assert default.status_code == 200 and default.json["applied"]["max_scans"] == 2
    own = client.put(
        f"/api/v1/clone-limits/products/{farm_a.product_id}",
        json={"max_scans": 3, "max_travel_kmh": 2000},
        headers=headers,
    )
    assert own.status_code == 200 and own.json["applied"]["max_travel_kmh"] == 2000
    verdicts = [scan(client, stamp_path, f"198.51.100.{i}")["verdict"] for i in range(4)]
    assert verdicts == ["GENUINE"] * 3 + ["SUSPICIOUS"]
    listed = admin_api.get("/api/v1/clone-limits").json["items"]
    assert [item["product_id"] for item in listed] == [None, farm_a.product_id]
    inspector_only = api_as(token_for(admin, "read"))
    forbidden = client.put(
        "/api/v1/clone-limits/default", json={"max_scans": 5}, headers=inspector_only.headers
    )
    assert forbidden.status_code == 403
    silly = client.put("/api/v1/clone-limits/default", json={"max_scans": 0}, headers=headers)
    assert silly.status_code == 422

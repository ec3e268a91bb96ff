"""Consumers scan a stamp: verdicts, representations, the scan log and the clone rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import minting, voiding
from stamps.flag_review import set_limits
from stamps.models import Scan, Stamp, StampFlag
from tests.registry_fixtures import Farm
from trace.models import Lot, Product, Role, User
from trace.services.access import Actor

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}


@pytest.fixture
def stamped(session: Session, farm_a: Farm) -> list[str]:
    """Paths of ten freshly minted stamps on farm A's lot."""
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 10, "1")
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.serial))).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]


def scan(client: Any, path: str, addr: str = "127.0.0.1", **params: str) -> dict[str, Any]:
    """One JSON scan from the client at ``addr`` (each address is another phone)."""
    response = client.get(
        path, headers=JSON, query_string=params, environ_base={"REMOTE_ADDR": addr}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_genuine_stamp_shows_its_lot_in_vietnamese(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    page = client.get(stamped[0], headers=PHONE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Chính hãng" in html and "Thanh long ruột đỏ" in html and "HTX Thanh Long 1" in html


def test_scan_page_switches_to_english(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    html = client.get(stamped[0] + "?lang=en", headers=PHONE).get_data(as_text=True)
    assert "Genuine" in html and "Red dragon fruit" in html


def test_json_report_has_the_verdict_and_the_facts(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    report = scan(client, stamped[0])
    assert report["verdict"] == "GENUINE"
    assert report["uri"] == "https://trace.example.vn" + stamped[0]
    assert report["lot"]["code"] == "TL-1" and report["anchoring"] == {"status": "pending"}
    assert report["scans"]["count"] == 1


def test_linkset_names_the_traceability_page(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    response = client.get(stamped[0], headers={**PHONE, "Accept": "application/linkset+json"})
    assert response.content_type == "application/linkset+json"
    links = response.json["linkset"][0]
    assert links["anchor"] == "https://trace.example.vn" + stamped[0]
    assert links["https://gs1.org/voc/traceability"][0]["href"] == links["anchor"]


def test_unknown_serial_is_not_found_with_advice(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    from stamps.identity import new_serials

    path = stamped[0].rsplit("/", 1)[0] + "/" + new_serials(1)[0]
    page = client.get(path, headers=PHONE)
    assert page.status_code == 404 and "giả" in page.get_data(as_text=True)
    assert client.get(path, headers=JSON).json == {"verdict": "NOT_FOUND"}


def test_real_serial_on_another_gtin_is_not_found(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    serial = stamped[0].rsplit("/", 1)[1]
    path = f"/01/08936001230028/10/TL-1/21/{serial}"
    assert client.get(path, headers=JSON).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/01/08936001230012/10/TL-1/21/ABC",  # wrong GTIN check digit and short serial
        "/01/123/10/TL-1/21/0000000000000",
        "/01/08936001230011/10/" + "X" * 21 + "/21/0000000000000",
        "/01/08936001230011/21/0000000000000",
    ],
)
def test_malformed_path_is_a_400_page_without_database_work(client, path: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(path, headers=PHONE)
    assert page.status_code == 400
    assert "Traceback" not in page.get_data(as_text=True)
    assert client.get(path, headers=JSON).json["verdict"] == "MALFORMED"


def test_void_stamp_is_void_and_its_scan_is_flagged(
    client, session: Session, farm_a: Farm, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    serial = stamped[2].rsplit("/", 1)[1]
    labels = voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, serial)
    voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    assert scan(client, stamped[2])["verdict"] == "VOID"
    assert session.exec(select(StampFlag.rule)).all() == ["void_scan"]
    assert scan(client, stamped[3])["verdict"] == "GENUINE"


def test_far_apart_scans_in_minutes_make_the_stamp_suspicious(
    client, session: Session, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    first = scan(client, stamped[0], "198.51.100.1", consent="1", province="Hà Nội")
    assert first["verdict"] == "GENUINE"
    second = scan(client, stamped[0], "198.51.100.2", consent="1", province="TP. Hồ Chí Minh")
    assert second["verdict"] == "SUSPICIOUS" and second["flags"] == ["impossible_travel"]
    assert second["scans"]["first_province"] == "Hà Nội"
    html = client.get(stamped[0], headers=PHONE).get_data(as_text=True)
    assert "Đáng ngờ" in html


def test_nearby_scans_stay_genuine(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    scan(client, stamped[0], "198.51.100.1", consent="1", geo="10.7769,106.7009")
    report = scan(client, stamped[0], "198.51.100.2", consent="1", geo="10.80,106.65")
    assert report["verdict"] == "GENUINE"


def test_location_is_recorded_only_with_consent(
    client, session: Session, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    scan(client, stamped[0], province="Hà Nội")
    scan(client, stamped[1], consent="1", geo="10.7769,106.7009")
    rows = session.exec(select(Scan).order_by(col(Scan.id))).all()
    assert (rows[0].province, rows[0].geohash) == (None, None)
    assert rows[1].province == "TP. Hồ Chí Minh" and rows[1].geohash == "w3gvk"


def test_scan_log_keeps_a_salted_hash_not_the_address(
    client, session: Session, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    client.get(stamped[0], headers=PHONE, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    row = session.exec(select(Scan)).one()
    assert "203.0.113.7" not in row.client_hash and len(row.client_hash) == 64


def test_too_many_scans_of_one_stamp_flag_it(
    client, session: Session, admin: User, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    product = session.exec(select(Product)).first()
    set_limits(session, Actor(admin.id, Role.ADMIN), product.id, {"max_scans": 3})
    verdicts = [scan(client, stamped[0], f"198.51.100.{i}")["verdict"] for i in range(4)]
    assert verdicts == ["GENUINE"] * 3 + ["SUSPICIOUS"]


def test_previews_and_head_requests_are_not_counted(
    client, session: Session, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    client.head(stamped[0], headers=PHONE)
    client.get(stamped[0], headers={"User-Agent": "facebookexternalhit/1.1"})
    client.get(stamped[0], headers={"User-Agent": "Zalo link preview"})
    assert session.exec(select(Scan)).all() == []


def test_consumer_shares_province_after_scanning(
    client, session: Session, stamped: list[str]
) -> None:  # type: ignore[no-untyped-def]
    html = client.get(stamped[0], headers=PHONE).get_data(as_text=True)
    token = html.split('name="token" type="hidden" value="')[1].split('"')[0]
    response = client.post(stamped[0], data={"token": token, "province": "Cần Thơ"}, headers=PHONE)
    assert response.status_code == 302
    assert session.exec(select(Scan)).one().province == "Cần Thơ"
    forged = client.post(stamped[0], data={"token": "x" + token, "province": "Huế"}, headers=PHONE)
    assert forged.status_code == 400


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SCAN_RATE_LIMIT": "5 per minute"}


def test_scans_are_rate_limited_per_client_with_retry_after(app: Flask, stamped: list[str]) -> None:
    client = app.test_client()
    codes = [client.get(stamped[0], headers=JSON).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    limited = client.get(stamped[0], headers=PHONE)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = client.get(stamped[0], headers=JSON, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_the_scan_count_reads_right_for_one_and_for_many(client, stamped: list[str]) -> None:  # type: ignore[no-untyped-def]
    first = client.get(stamped[0] + "?lang=en", headers=PHONE).get_data(as_text=True)
    assert re.search(r"1 scan\.", first) and "1 scans" not in first
    other_phone = {"REMOTE_ADDR": "198.51.100.9"}
    second = client.get(stamped[0] + "?lang=en", headers=PHONE, environ_base=other_phone)
    assert "2 scans." in second.get_data(as_text=True)

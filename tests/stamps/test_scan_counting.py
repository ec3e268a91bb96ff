"""What counts as a scan, and which scans may flag a stamp: one client cannot game either.

A scan is one client's first view of a stamp in the scan window; impossible travel needs
two different clients at places they consented to share.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Scan, Stamp, StampFlag
from tests.registry_fixtures import Farm
from trace.models import Lot, Product

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}
ONE_PHONE = {"REMOTE_ADDR": "203.0.113.10"}


@pytest.fixture
def stamp_path(session: Session, farm_a: Farm) -> str:
    """The path of one freshly minted stamp on farm A's lot."""
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    serial = session.exec(select(Stamp.serial)).one()
    return f"/01/{gtin}/10/{lot.code}/21/{serial}"


def scan(client: Any, path: str, addr: str, **params: str) -> dict[str, Any]:
    response = client.get(
        path, headers=JSON, query_string=params, environ_base={"REMOTE_ADDR": addr}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_one_client_sending_two_far_provinces_never_makes_a_stamp_suspicious(
    client: Any, session: Session, stamp_path: str
) -> None:
    first = scan(client, stamp_path, "203.0.113.10", consent="1", province="Hà Nội")
    second = scan(client, stamp_path, "203.0.113.10", consent="1", province="Cà Mau")
    later = scan(client, stamp_path, "198.51.100.77")  # an honest shopper afterwards
    assert [first["verdict"], second["verdict"], later["verdict"]] == ["GENUINE"] * 3
    assert session.exec(select(StampFlag)).all() == []


def test_one_client_cannot_flag_a_stamp_even_once_its_scans_count_apart(
    app: Flask, client: Any, session: Session, stamp_path: str
) -> None:
    app.config["SCAN_WINDOW_MINUTES"] = 0  # every view is a scan of its own
    scan(client, stamp_path, "203.0.113.10", consent="1", province="Hà Nội")
    second = scan(client, stamp_path, "203.0.113.10", consent="1", province="Cà Mau")
    assert second["scans"]["count"] == 2 and second["verdict"] == "GENUINE"


def test_two_clients_at_far_consented_places_in_minutes_make_it_suspicious(
    client: Any, stamp_path: str
) -> None:
    scan(client, stamp_path, "203.0.113.10", consent="1", province="Hà Nội")
    second = scan(client, stamp_path, "198.51.100.20", consent="1", province="Cà Mau")
    assert second["verdict"] == "SUSPICIOUS" and second["flags"] == ["impossible_travel"]


def test_a_place_sent_without_consent_never_counts_towards_travel(
    client: Any, stamp_path: str
) -> None:
    scan(client, stamp_path, "203.0.113.10", province="Hà Nội")
    second = scan(client, stamp_path, "198.51.100.20", consent="1", province="Cà Mau")
    assert second["verdict"] == "GENUINE"


def test_sharing_a_province_switching_language_and_reloading_is_one_scan(
    client: Any, session: Session, stamp_path: str
) -> None:
    html = client.get(stamp_path, headers=PHONE, environ_base=ONE_PHONE).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html)[1]  # type: ignore[index]
    shared = client.post(
        stamp_path,
        data={"token": token, "province": "Cần Thơ"},
        headers=PHONE,
        environ_base=ONE_PHONE,
    )
    assert shared.status_code == 302
    back = client.get(shared.location, headers=PHONE, environ_base=ONE_PHONE)  # the redirect
    assert back.status_code == 200
    english = client.get(stamp_path + "?lang=en", headers=PHONE, environ_base=ONE_PHONE)
    reload = client.get(stamp_path + "?lang=en", headers=PHONE, environ_base=ONE_PHONE)
    assert re.search(r"\b1 scan\.", reload.get_data(as_text=True)), english.status_code
    report = client.get(stamp_path, headers=JSON, environ_base=ONE_PHONE).json
    assert report["scans"]["count"] == 1
    assert [s.province for s in session.exec(select(Scan))] == ["Cần Thơ"]


def test_another_client_is_another_scan(client: Any, session: Session, stamp_path: str) -> None:
    scan(client, stamp_path, "203.0.113.10")
    scan(client, stamp_path, "203.0.113.10")
    assert scan(client, stamp_path, "198.51.100.20")["scans"]["count"] == 2
    assert len(session.exec(select(Scan).order_by(col(Scan.id))).all()) == 2


def test_a_repeat_view_can_share_the_place_its_scan_lacked(
    client: Any, session: Session, stamp_path: str
) -> None:
    scan(client, stamp_path, "203.0.113.10")
    again = scan(client, stamp_path, "203.0.113.10", consent="1", province="Huế")
    assert again["scans"]["count"] == 1 and again["scans"]["first_province"] == "Huế"
    assert session.exec(select(Scan.province)).all() == ["Huế"]

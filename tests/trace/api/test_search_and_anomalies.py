"""Finding things: products and producers by name, GTIN, district and certification;
flagged stamps by province, product and rule; a stamp's scans and flags."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from tests.registry_fixtures import Farm
from trace.models import Certification, Lot, Producer, Product

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}
PHONES = itertools.count(1)  # each scan() is another phone


def ids(api: Any, path: str, **params: Any) -> list[int]:
    response = api.get(path, query_string=params)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_products_and_producers_are_found_by_name_gtin_district_and_certification(
    inspector_api: Any, session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    producer_b = session.get(Producer, farm_b.user.producer_id)
    producer_b.district = "Huyện Cần Đước"
    session.add(producer_b)
    today = date.today()
    session.add(
        Certification(
            producer_id=farm_a.user.producer_id,
            scheme="vietgap",
            number="VG-LA-0001",
            issuer="Trung tâm Chứng nhận VietGAP",
            valid_from=today - timedelta(days=300),
            valid_to=today + timedelta(days=65),
        )
    )
    session.add(
        Certification(
            producer_id=farm_b.user.producer_id,
            scheme="vietgap",
            number="VG-LA-0002",
            issuer="Trung tâm Chứng nhận VietGAP",
            valid_from=today - timedelta(days=800),
            valid_to=today - timedelta(days=1),  # expired: no longer counts
        )
    )
    session.commit()
    gtin_b = session.get(Product, farm_b.product_id).gtin
    both = [farm_a.product_id, farm_b.product_id]
    assert ids(inspector_api, "/api/v1/products", q="dragon") == both
    assert ids(inspector_api, "/api/v1/products", q="Thanh long") == both
    assert ids(inspector_api, "/api/v1/products", q="sầu riêng") == []
    assert ids(inspector_api, "/api/v1/products", gtin=gtin_b) == [farm_b.product_id]
    assert ids(inspector_api, "/api/v1/products", district="Cần Đước") == [farm_b.product_id]
    assert ids(inspector_api, "/api/v1/products", certification="vietgap") == [farm_a.product_id]
    producers = "/api/v1/producers"
    assert ids(inspector_api, producers, q="Thanh Long 2") == [farm_b.user.producer_id]
    assert ids(inspector_api, producers, gtin=gtin_b) == [farm_b.user.producer_id]
    assert ids(inspector_api, producers, certification="vietgap") == [farm_a.user.producer_id]
    [found] = inspector_api.get(producers, query_string={"q": "Thanh Long 1"}).json["items"]
    assert found["certifications"] == ["vietgap"]


def scan(client: Any, session: Session, farm: Farm, serial: str, province: str) -> None:
    """A scan by a phone of its own (one phone alone can never flag a stamp)."""
    lot = session.get(Lot, farm.lot_id)
    path = f"/01/{session.get(Product, lot.product_id).gtin}/10/{lot.code}/21/{serial}"
    query = {"consent": "1", "province": province}
    phone = {"REMOTE_ADDR": f"198.51.100.{next(PHONES)}"}
    client.get(path, headers=PHONE, query_string=query, environ_base=phone).close()


def test_a_copied_stamp_is_listed_as_an_anomaly_with_its_scans_and_flags(
    inspector_api: Any,
    farmer_a_api: Any,
    farmer_b_api: Any,
    client: Any,
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    stamped: list[str],
) -> None:
    copied = stamped[0]
    scan(client, session, farm_a, copied, "Hà Nội")
    scan(client, session, farm_a, copied, "Cần Thơ")  # 1,700 km in a few milliseconds
    scan(client, session, farm_a, stamped[1], "Long An")
    [anomaly] = inspector_api.get("/api/v1/anomalies").json["items"]
    assert (anomaly["serial"], anomaly["rule"]) == (copied, "impossible_travel")
    assert anomaly["product_id"] == farm_a.product_id and anomaly["scan_count"] == 2

    def serials(api: Any, **params: Any) -> list[str]:
        items = api.get("/api/v1/anomalies", query_string=params).json["items"]
        return [item["serial"] for item in items]

    assert serials(inspector_api, province="Cần Thơ") == [copied]
    assert serials(inspector_api, province="Long An") == []
    assert serials(inspector_api, rule="impossible_travel") == [copied]
    assert serials(inspector_api, rule="void_scan") == []
    assert serials(inspector_api, product_id=farm_b.product_id) == []
    assert serials(farmer_a_api) == [copied] and serials(farmer_b_api) == []
    scans = inspector_api.get(f"/api/v1/stamps/{copied}/scans").json["items"]
    assert [s["province"] for s in scans] == ["Cần Thơ", "Hà Nội"]  # newest first
    flags = inspector_api.get(f"/api/v1/stamps/{copied}/flags").json["items"]
    assert [f["rule"] for f in flags] == ["impossible_travel"]
    verdict = inspector_api.get(f"/api/v1/stamps/{copied}").json
    assert verdict["verdict"] == "SUSPICIOUS" and verdict["flags"] == ["impossible_travel"]

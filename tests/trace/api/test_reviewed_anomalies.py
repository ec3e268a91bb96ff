"""The anomaly list shows only flags that still hold: an inspector's dismissal takes a flag
off it, a confirmation keeps it there, and each listed flag says how it was reviewed."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.registry_fixtures import Farm
from trace.models import Lot, Product

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}


def flag_by_travel(client: FlaskClient, path: str, phones: tuple[str, str]) -> None:
    """Two phones at far-apart places they consented to share, minutes apart."""
    for phone, province in zip(phones, ("Hà Nội", "Cà Mau"), strict=True):
        response = client.get(
            path,
            headers={**PHONE, "Accept": "application/json"},
            query_string={"consent": "1", "province": province},
            environ_base={"REMOTE_ADDR": phone},
        )
        assert response.status_code == 200
    assert response.json["verdict"] == "SUSPICIOUS"


def anomalies(api: Any) -> dict[str, str]:
    """serial -> review of every listed anomaly."""
    response = api.get("/api/v1/anomalies")
    assert response.status_code == 200, response.json
    return {item["serial"]: item["review"] for item in response.json["items"]}


def review(api: Any, serial: str, decision: str) -> None:
    flags = api.get("/api/v1/flags", query_string={"review": "open"}).json["items"]
    [flag_id] = [flag["id"] for flag in flags if flag["serial"] == serial]
    note = {"dismissed": "Hai người cùng nhà.", "confirmed": "Nhãn sao chép ở chợ."}[decision]
    reviewed = api.post(
        f"/api/v1/flags/{flag_id}/review", json={"decision": decision, "note": note}
    )
    assert reviewed.status_code == 200, reviewed.json


def test_a_dismissed_flag_leaves_the_anomaly_list_and_a_confirmed_one_stays(
    client: FlaskClient,
    inspector_api: Any,
    farmer_a_api: Any,
    session: Session,
    farm_a: Farm,
    stamped: list[str],
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    base = f"/01/{session.get(Product, lot.product_id).gtin}/10/{lot.code}/21/"
    innocent, copied = stamped[0], stamped[1]
    flag_by_travel(client, base + innocent, ("203.0.113.1", "203.0.113.2"))
    flag_by_travel(client, base + copied, ("203.0.113.3", "203.0.113.4"))
    assert anomalies(inspector_api) == {innocent: "open", copied: "open"}

    review(inspector_api, innocent, "dismissed")
    review(inspector_api, copied, "confirmed")

    assert anomalies(inspector_api) == {copied: "confirmed"}
    assert anomalies(farmer_a_api) == {copied: "confirmed"}
    kept = inspector_api.get(f"/api/v1/stamps/{copied}/flags").json["items"]
    assert [(f["rule"], f["review"]) for f in kept] == [("impossible_travel", "confirmed")]

"""The alert feed: what raises alerts, and reading them by kind, district, time and cursor."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from chain.testing import FakeChainClient
from stamps import minting
from stamps.models import Stamp, StampStatus
from tests.registry_fixtures import Farm
from trace import jobs
from trace.alerts import AlertKind, record_alert
from trace.alerts.sources import alert_expired_certifications
from trace.anchoring.jobs import JOB_ROUND
from trace.models import Alert, Certification, Lot, Producer, Product
from trace.models.base import utcnow

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}


def kinds(api: Any, **params: Any) -> list[str]:
    response = api.get("/api/v1/alerts", query_string=params)
    assert response.status_code == 200, response.json
    return [item["kind"] for item in response.json["items"]]


def stamp_path(session: Session, farm: Farm, serial: str) -> str:
    lot = session.get(Lot, farm.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    return f"/01/{gtin}/10/{lot.code}/21/{serial}"  # type: ignore[union-attr]


def anchor_and_tamper(app: Flask, session: Session, farm: Farm) -> None:
    app.extensions["chain"] = FakeChainClient()
    with app.app_context():
        while jobs.run_one(app, session, "t", only=["anchoring."]):
            pass
        jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
        session.commit()
        while jobs.run_one(app, session, "t", only=["anchoring."]):
            pass
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"),
        {"d": "2020-01-01", "id": farm.lot_id},
    )
    session.commit()


def test_a_recall_is_an_alert_with_its_lot_producer_and_district(
    inspector_api: Any, farm_a: Farm
) -> None:
    inspector_api.post(f"/api/v1/batches/{farm_a.lot_id}/recall", json={"reason": "Listeria"})
    [alert] = inspector_api.get("/api/v1/alerts").json["items"]
    assert (alert["kind"], alert["lot_id"], alert["district"]) == (
        "recall",
        farm_a.lot_id,
        "Huyện Châu Thành",
    )
    assert alert["producer_id"] == farm_a.user.producer_id
    assert alert["message"] == "Lot TL-1 (Red dragon fruit) was recalled: Listeria"
    vi = inspector_api.get("/api/v1/alerts", headers={"Accept-Language": "vi"}).json["items"]
    assert vi[0]["message"] == "Lô TL-1 (Red dragon fruit) đã bị thu hồi: Listeria"


def test_a_tampered_lot_raises_one_alert_is_an_anomaly_and_the_page_says_so(
    app: Flask, client: Any, session: Session, inspector_api: Any, farm_a: Farm
) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    anchor_and_tamper(app, session, farm_a)
    for _ in range(2):  # found twice: one alert
        integrity = inspector_api.get(f"/api/v1/batches/{farm_a.lot_id}/integrity")
        assert integrity.json["status"] == "tampered"
    assert kinds(inspector_api) == ["tamper_detected"]
    anomalies = inspector_api.get("/api/v1/anomalies").json
    assert [lot["lot_id"] for lot in anomalies["tampered_lots"]] == [farm_a.lot_id]
    assert anomalies["items"] == []
    serial = session.exec(select(Stamp.serial)).first()
    page = client.get(stamp_path(session, farm_a, serial) + "?lang=en", headers=PHONE)
    assert "Inspectors have been alerted." in page.get_data(as_text=True)


def test_the_scan_page_claims_no_alert_that_was_not_recorded(
    app: Flask, client: Any, session: Session, inspector_api: Any, farm_a: Farm
) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    anchor_and_tamper(app, session, farm_a)
    inspector_api.get(f"/api/v1/batches/{farm_a.lot_id}/integrity")
    session.execute(delete(Alert))  # as for a lot found tampered before alerts existed
    session.commit()
    serial = session.exec(select(Stamp.serial)).first()
    text_ = client.get(stamp_path(session, farm_a, serial) + "?lang=en", headers=PHONE).get_data(
        as_text=True
    )
    assert "TAMPERED" in text_ and "alerted" not in text_


def test_a_flag_raised_on_a_stamp_is_an_alert(
    client: Any, session: Session, inspector_api: Any, farm_a: Farm
) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    stamp = session.exec(select(Stamp)).one()
    session.execute(update(Stamp).where(col(Stamp.id) == stamp.id).values(status=StampStatus.VOID))
    session.commit()
    client.get(stamp_path(session, farm_a, stamp.serial), headers=PHONE).close()
    [alert] = inspector_api.get("/api/v1/alerts").json["items"]
    assert alert["kind"] == "flag_raised" and alert["lot_id"] == farm_a.lot_id
    assert alert["details"]["serial"] == stamp.serial
    assert alert["details"]["rule"] == "void_scan"


def test_an_expired_certification_raises_one_alert(
    session: Session, inspector_api: Any, farm_a: Farm
) -> None:
    today = date.today()
    for number, valid_to in (
        ("VG-1", today - timedelta(days=1)),
        ("VG-OLD", today - timedelta(days=400)),
        ("VG-OK", today + timedelta(days=9)),
    ):
        session.add(
            Certification(
                producer_id=farm_a.user.producer_id,
                scheme="vietgap",
                number=number,
                issuer="Sở NN",
                valid_from=today - timedelta(days=500),
                valid_to=valid_to,
            )
        )
    session.commit()
    assert alert_expired_certifications(session, today) == 1
    assert alert_expired_certifications(session, today) == 0  # the next check adds none
    [alert] = inspector_api.get("/api/v1/alerts").json["items"]
    assert alert["kind"] == "certification_expired" and "VG-1" in alert["message"]


def test_an_anchoring_round_that_keeps_failing_raises_one_alert(
    app: Flask, session: Session, inspector_api: Any, farm_a: Farm
) -> None:
    chain = FakeChainClient()
    chain.available = False
    app.extensions["chain"] = chain
    app.config["ALERT_ROUND_FAILURES"] = 2
    with app.app_context():
        while jobs.run_one(app, session, "t", only=["anchoring.document"]):
            pass
        for attempt in range(3):
            jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
            session.execute(update(jobs.Job).values(run_after=utcnow() - timedelta(seconds=1)))
            session.commit()
            jobs.run_one(app, session, "t", only=["anchoring.round"])
            assert kinds(inspector_api) == ([] if attempt == 0 else ["anchoring_failing"])


def test_the_feed_filters_by_kind_district_and_time_and_pages_by_cursor(
    session: Session, inspector_api: Any, farm_a: Farm, farm_b: Farm
) -> None:
    producer_b = session.get(Producer, farm_b.user.producer_id)
    producer_b.district = "Huyện Cần Giuộc"  # type: ignore[union-attr]
    session.add(producer_b)
    for n in range(5):
        farm = farm_a if n % 2 == 0 else farm_b
        kind = AlertKind.RECALL if n < 3 else AlertKind.TAMPER_DETECTED
        params = {"lot": f"L{n}", "product": "p", "reason": "r"}
        record_alert(session, kind, params, lot_id=farm.lot_id)
    session.commit()
    ids = [a.id for a in session.exec(select(Alert).order_by(col(Alert.id).desc()))]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"per_page": 2} | ({"cursor": cursor} if cursor else {})
        body = inspector_api.get("/api/v1/alerts", query_string=params).json
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3  # newest first, each once
    assert kinds(inspector_api, kind="tamper_detected") == ["tamper_detected"] * 2
    districts = inspector_api.get("/api/v1/alerts", query_string={"district": "Huyện Cần Giuộc"})
    assert {item["lot_id"] for item in districts.json["items"]} == {farm_b.lot_id}
    assert len(districts.json["items"]) == 2
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert kinds(inspector_api, since=future) == []
    past = (utcnow() - timedelta(hours=1)).isoformat()
    assert len(kinds(inspector_api, since=past)) == 5


def test_a_farmer_sees_only_their_producers_alerts_and_bad_cursors_are_refused(
    session: Session, inspector_api: Any, farmer_a_api: Any, farm_a: Farm, farm_b: Farm
) -> None:
    for farm in (farm_a, farm_b):
        params = {"lot": "x", "product": "p", "reason": "r"}
        record_alert(session, AlertKind.RECALL, params, lot_id=farm.lot_id)
    session.commit()
    mine = farmer_a_api.get("/api/v1/alerts").json["items"]
    assert [item["lot_id"] for item in mine] == [farm_a.lot_id]
    bad = inspector_api.get("/api/v1/alerts", query_string={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    unknown = inspector_api.get("/api/v1/alerts", query_string={"kind": "weather"})
    assert unknown.status_code == 422

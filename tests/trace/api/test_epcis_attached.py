"""Captured EPCIS events that name our lots are part of the lot: its timeline, its scan
page, its FSMA 204 records and its next anchored document; our harvests carry ILMD."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from chain.canonical import canonical_json, document_hash
from tests.registry_fixtures import Farm, login
from tests.standards import shared
from trace.anchoring.documents import (
    DOCUMENT_SCHEMA,
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    build_document,
    latest_version,
)
from trace.epcis import event_hash_id, validate_document
from trace.epcis.digital_link import gs1_check_digit
from trace.epcis.validation import DEFAULT_SCHEMA_PATH
from trace.models import Lot, LotDocument, Producer, Product
from trace.services.events import NewEvent, record_event

SHARED_EPCIS = shared("epcis")
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
RECEIVED_AT = "urn:epc:id:sgln:0012345.11111.0"  # the GS1 example's receiving location
RECEIVED_AT_GLN = "001234511111" + gs1_check_digit("001234511111")


def our_lot(session: Session, farm: Farm) -> tuple[str, str]:
    lot = session.get(Lot, farm.lot_id)
    assert lot is not None
    return session.get(Product, lot.product_id).gtin, lot.code  # type: ignore[union-attr]


#: A receiving event shaped like GS1's EPCIS 2.0 example 9.6.1 (its second event), written
#: out here: the GS1 example files are not openly licensed, so the repository does not
#: carry them. Where ``../shared/standards`` is present the example itself is used.
RECEIVING_DOCUMENT: dict[str, Any] = {
    "@context": [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"example": "http://ns.example.com/epcis/"},
    ],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-03-03T10:00:00+07:00",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
                "eventTime": "2026-03-02T20:25:31.116+07:00",
                "eventTimeZoneOffset": "+07:00",
                "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
            },
            {
                "eventID": "ni:///sha-256;0000000000000000000000000000000000000000000000000000000000000000?ver=CBV2.0",
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
                "eventTime": "2026-03-03T09:33:31.116+07:00",
                "eventTimeZoneOffset": "+07:00",
                "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
                "bizLocation": {"id": RECEIVED_AT},
                "bizTransactionList": [
                    {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}
                ],
                "example:myField": "Example of a vendor/user extension",
            },
        ]
    },
}


def gs1_receiving(epc_fields: dict[str, Any], hours_ago: float = 1) -> dict[str, Any]:
    """The receiving event of GS1's EPCIS 2.0 example 9.6.1, made to name our goods."""
    example = (
        SHARED_EPCIS / "examples" / "ObjectEvent_Example_9.6.1.jsonld" if SHARED_EPCIS else None
    )
    if example is not None and example.is_file():
        document = json.loads(example.read_text(encoding="utf-8"))
    else:
        document = copy.deepcopy(RECEIVING_DOCUMENT)
    event = copy.deepcopy(document["epcisBody"]["eventList"][1])
    assert event["bizStep"] == "receiving" and event["bizLocation"]["id"] == RECEIVED_AT
    del event["eventID"], event["epcList"], event["example:myField"]
    when = datetime.now().astimezone() - timedelta(hours=hours_ago)
    event["eventTime"] = when.isoformat(timespec="milliseconds")
    event["eventTimeZoneOffset"] = when.isoformat()[-6:]
    document["epcisBody"]["eventList"] = [event | epc_fields]
    return document


def lot_class(gtin: str, code: str) -> dict[str, Any]:
    quantity = {"epcClass": f"https://id.gs1.org/01/{gtin}/10/{code}", "quantity": 120}
    return {"quantityList": [quantity | {"uom": "KGM"}]}


def sgtin(gtin: str, serial: str) -> str:
    """The SGTIN EPC URI of a serial of ``gtin`` (our company prefixes have 9 digits)."""
    return f"urn:epc:id:sgtin:{gtin[1:10]}.{gtin[0]}{gtin[10:13]}.{serial}"


def capture(api: Any, document: dict[str, Any]) -> tuple[str, list[int]]:
    response = api.post("/api/v1/epcis/capture", json=document)
    assert response.status_code == 201, response.json
    [hash_id] = response.json["event_ids"]
    return hash_id, response.json["lots"].get(hash_id, [])


def fsma_rows(api: Any, lot_id: int) -> list[dict[str, str]]:
    response = api.get("/api/v1/exports/fsma204.csv", query_string={"lot_id": lot_id})
    assert response.status_code == 200, response.data[:300]
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.fixture
def harvested(session: Session, farm_a: Farm) -> Farm:
    when = datetime.now().astimezone() - timedelta(days=1)
    record_event(session, farm_a.actor, farm_a.lot_id, NewEvent("harvest", when, "Châu Thành"))
    return farm_a


def test_a_captured_gs1_receiving_event_reaches_scan_page_export_and_anchored_document(
    inspector_api: Any,
    client: FlaskClient,
    session: Session,
    harvested: Farm,
    stamped: list[str],
    anchor: Callable[[], None],
) -> None:
    gtin, code = our_lot(session, harvested)
    anchor()
    before = latest_version(session, harvested.lot_id)
    assert before is not None and before.round_id is not None
    stamp_page = f"/01/{gtin}/10/{code}/21/{stamped[0]}?lang=en"
    assert "Receiving" not in client.get(stamp_page, headers=PHONE).get_data(as_text=True)

    hash_id, lots = capture(inspector_api, gs1_receiving(lot_class(gtin, code)))

    assert lots == [harvested.lot_id]
    page = client.get(stamp_page, headers=PHONE).get_data(as_text=True)
    assert "<b>Receiving</b>" in page and f"(414) {RECEIVED_AT_GLN}" in page
    assert "urn:epc:" not in page  # a place reads as a GLN, never as a raw URN
    assert "Recorded in EPCIS by an inspector." in page
    scan = client.get(stamp_page, headers={**PHONE, "Accept": "application/json"}).json
    [receiving] = [e for e in scan["events"] if e["kind"] == "receiving"]
    assert (receiving["place"], receiving["place_id"]) == (f"(414) {RECEIVED_AT_GLN}", RECEIVED_AT)
    assert scan["verdict"] == "GENUINE"  # a capture is a change the service made, not tampering
    [received] = [
        r
        for r in fsma_rows(inspector_api, harvested.lot_id)
        if r["Reference Document Number"] == hash_id
    ]
    assert received["Critical Tracking Event"] == "receiving"
    assert received["Traceability Lot Code"] == f"(01){gtin}(10){code}"
    assert (received["Quantity"], received["Unit of Measure"]) == ("120", "kg")
    assert received["Receiving Location Description"] == RECEIVED_AT

    anchor()
    after = latest_version(session, harvested.lot_id)
    assert after is not None and after.version == before.version + 1 and after.round_id
    anchored = json.loads(after.canonical_json)
    assert [e["hash_id"] for e in anchored["captured_events"]] == [hash_id]
    assert anchored["captured_events"][0]["biz_step"] == "receiving"
    integrity = inspector_api.get(f"/api/v1/batches/{harvested.lot_id}/integrity").json
    assert integrity["status"] == "intact" and integrity["anchored_version"] == after.version


def test_a_stamp_named_by_sgtin_or_digital_link_attaches_its_lot(
    inspector_api: Any, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    gtin, _ = our_lot(session, farm_a)
    by_epc = {"epcList": [sgtin(gtin, stamped[0])]}
    by_link = {"epcList": [f"https://shop.example.vn/01/{gtin}/21/{stamped[1]}"]}
    assert capture(inspector_api, gs1_receiving(by_epc))[1] == [farm_a.lot_id]
    assert capture(inspector_api, gs1_receiving(by_link, hours_ago=2))[1] == [farm_a.lot_id]


def test_an_ilmd_lot_number_with_our_gtin_attaches_its_lot(
    inspector_api: Any, session: Session, farm_a: Farm
) -> None:
    gtin, code = our_lot(session, farm_a)
    pattern = f"urn:epc:idpat:sgtin:{gtin[1:10]}.{gtin[0]}{gtin[10:13]}.*"
    fields = {
        "action": "ADD",
        "bizStep": "commissioning",
        "quantityList": [{"epcClass": pattern, "quantity": 5}],
        "ilmd": {"cbvmda:lotNumber": code},
    }
    assert capture(inspector_api, gs1_receiving(fields))[1] == [farm_a.lot_id]


def test_an_event_naming_someone_elses_gtin_attaches_to_nothing(
    inspector_api: Any, session: Session, farm_a: Farm, farm_b: Farm, stamped: list[str]
) -> None:
    _, code = our_lot(session, farm_a)
    other_gtin, _ = our_lot(session, farm_b)  # ours, but farm A's lot code is not its lot
    foreign = "0614141" + "99999"
    foreign += gs1_check_digit(foreign)
    foreign = foreign.zfill(14)
    for fields in (
        lot_class(foreign, code),
        lot_class(other_gtin, code),
        {"epcList": [sgtin(foreign, stamped[0])]},  # our serial under a GTIN we do not issue
        {"action": "ADD", "epcList": [sgtin(foreign, "1")], "ilmd": {"cbvmda:lotNumber": code}},
    ):
        assert capture(inspector_api, gs1_receiving(fields))[1] == []
    assert not [
        r
        for r in fsma_rows(inspector_api, farm_a.lot_id)
        if r["Critical Tracking Event"] == "receiving"
    ]


def test_a_captured_place_with_a_known_gln_reads_as_its_producers_name(
    inspector_api: Any, client: FlaskClient, session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    producer = session.get(Producer, farm_b.user.producer_id)
    assert producer is not None
    producer.gln = RECEIVED_AT_GLN
    session.commit()
    gtin, code = our_lot(session, farm_a)
    capture(inspector_api, gs1_receiving(lot_class(gtin, code)))
    page = client.get(f"/01/{gtin}/10/{code}?lang=en", headers=PHONE).get_data(as_text=True)
    assert "<b>Receiving</b> " in page
    journey = page[page.index("<b>Receiving</b>") :]
    assert "HTX Thanh Long 2" in journey[: journey.index("</li>")]
    assert "urn:epc:" not in page


def test_a_captured_receiving_event_is_a_stage_of_the_lot_passport(
    inspector_api: Any,
    client: FlaskClient,
    session: Session,
    harvested: Farm,
    anchor: Callable[[], None],
) -> None:
    from pyld import jsonld

    gtin, code = our_lot(session, harvested)
    hash_id, _ = capture(inspector_api, gs1_receiving(lot_class(gtin, code)))
    anchor()
    stages = build_document(session, harvested.lot_id)["passport"]["stages"]
    assert [s["kind"] for s in stages] == ["harvest", "receiving"]
    assert (stages[1]["event_id"], stages[1]["location_code"]) == (hash_id, RECEIVED_AT_GLN)

    def no_network(url: str, options: Any = None) -> Any:
        raise AssertionError(f"the passport must not need {url}")

    passport = client.get(f"/passports/01/{gtin}/10/{code}.jsonld").json
    [node] = jsonld.expand(passport, {"documentLoader": no_network})
    expanded = node["urn:agritrace:passport:stages"]
    assert [s["@id"] for s in expanded] == [stages[0]["event_id"], hash_id]
    assert node["https://schema.org/sameAs"] == [{"@id": f"https://id.gs1.org/01/{gtin}/10/{code}"}]


def test_a_lot_anchored_under_schema_3_with_a_captured_event_stays_intact(
    inspector_api: Any, session: Session, harvested: Farm, anchor: Callable[[], None]
) -> None:
    gtin, code = our_lot(session, harvested)
    capture(inspector_api, gs1_receiving(lot_class(gtin, code)))
    anchor()
    stored = latest_version(session, harvested.lot_id)
    assert stored is not None
    legacy = build_document(session, harvested.lot_id, schema=SCHEMA_3)
    assert legacy["passport"] != build_document(session, harvested.lot_id)["passport"]
    stored.canonical_json, stored.doc_hash = (
        canonical_json(legacy).decode(),
        document_hash(legacy).hex(),
    )
    stored.round_id = None
    session.add(stored)
    session.commit()
    integrity = inspector_api.get(f"/api/v1/batches/{harvested.lot_id}/integrity").json
    assert integrity["status"] == "intact"


def test_the_farmers_lot_page_shows_the_captured_event_and_who_captured_it(
    inspector_api: Any, client: FlaskClient, session: Session, farm_a: Farm
) -> None:
    gtin, code = our_lot(session, farm_a)
    capture(inspector_api, gs1_receiving(lot_class(gtin, code)))
    page = login(client, farm_a.email).get(f"/lots/{farm_a.lot_id}?lang=en")
    html = page.get_data(as_text=True)
    assert "Recorded in EPCIS by an inspector." in html
    assert f"(414) {RECEIVED_AT_GLN}" in html  # a GLN no one registered: its element string
    assert "urn:epc:" not in html  # never the raw SGLN URN
    assert "supersedes=epcis" not in html  # a captured event is not the farmer's to correct


def test_the_lot_page_names_a_place_the_registry_knows_by_its_gln(
    inspector_api: Any, client: FlaskClient, session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    producer = session.get(Producer, farm_b.user.producer_id)
    assert producer is not None
    producer.gln = RECEIVED_AT_GLN
    session.add(producer)
    session.commit()
    gtin, code = our_lot(session, farm_a)
    source = {"type": "location", "source": "urn:epc:id:sgln:0012345.11111.dock-2"}
    capture(inspector_api, gs1_receiving(lot_class(gtin, code) | {"sourceList": [source]}))
    html = login(client, farm_a.email).get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)
    # The place (farm B's GLN), the quantity, then the source (a location of farm B's).
    assert f"{producer.name} · 120 · kg · {producer.name} · (254) dock-2" in html
    assert "urn:epc:" not in html and RECEIVED_AT_GLN not in html


def test_our_harvest_events_carry_cbv_ilmd_and_validate_against_the_epcis_schema(
    inspector_api: Any, session: Session, harvested: Farm
) -> None:
    _, code = our_lot(session, harvested)
    lot = session.get(Lot, harvested.lot_id)
    response = inspector_api.get(
        "/api/v1/epcis/events", query_string={"EQ_bizStep": "commissioning"}
    )
    [harvest] = response.json["items"]
    ilmd = harvest["ilmd"]
    assert ilmd["cbvmda:lotNumber"] == code
    assert (
        ilmd["cbvmda:harvestStartDate"]
        == ilmd["cbvmda:harvestEndDate"]
        == lot.harvest_date.isoformat()
    )
    assert ilmd["at:growingArea"]["at:name"]
    assert harvest["quantityList"][0]["quantity"] > 0
    document = {
        "@context": harvest.pop("@context"),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-06-01T00:00:00.000Z",
        "epcisBody": {"eventList": [harvest]},
    }
    assert validate_document(document, DEFAULT_SCHEMA_PATH) == []
    hash_id = event_hash_id(harvest, document["@context"])
    assert harvest["eventID"] == hash_id
    assert build_document(session, harvested.lot_id)["events"] == [hash_id]


@pytest.mark.parametrize("old_schema", [SCHEMA_1, SCHEMA_2, SCHEMA_3])
def test_a_lot_under_an_older_schema_stays_intact_and_moves_to_the_newest_when_it_changes(
    inspector_api: Any,
    session: Session,
    harvested: Farm,
    anchor: Callable[[], None],
    old_schema: str,
) -> None:
    gtin, code = our_lot(session, harvested)
    anchor()
    stored = latest_version(session, harvested.lot_id)
    assert stored is not None
    # Schema 1: a harvest hashed without ILMD; 2: no passport; 3: no captured stages.
    legacy = build_document(session, harvested.lot_id, schema=old_schema)
    assert legacy != build_document(session, harvested.lot_id)
    stored.canonical_json, stored.doc_hash = (
        canonical_json(legacy).decode(),
        document_hash(legacy).hex(),
    )
    stored.round_id = None
    session.add(stored)
    session.commit()
    integrity = inspector_api.get(f"/api/v1/batches/{harvested.lot_id}/integrity").json
    assert integrity["status"] == "intact"

    capture(inspector_api, gs1_receiving(lot_class(gtin, code)))
    anchor()
    newest = session.exec(
        select(LotDocument)
        .where(LotDocument.lot_id == harvested.lot_id)
        .order_by(col(LotDocument.version).desc())
    ).first()
    assert newest is not None and newest.version == stored.version + 1
    document = json.loads(newest.canonical_json)
    assert document["schema"] == DOCUMENT_SCHEMA and len(document["captured_events"]) == 1
    session.refresh(lot := session.get(Lot, harvested.lot_id))
    assert lot.tampered_at is None
    assert (
        inspector_api.get(f"/api/v1/batches/{harvested.lot_id}/integrity").json["status"]
        == "intact"
    )

"""EPCIS 2.0 over the API: capture example documents, query them back, hashes unchanged.

The documents are ours (tests/standards/epcis-documents); GS1's examples are captured too
where the organisation's shared standards folder is present (they may not be copied here).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from tests.registry_fixtures import Farm
from tests.standards import EPCIS_DOCUMENTS, shared
from trace.app import create_app
from trace.config import ConfigError
from trace.epcis import event_hash_id, lot_uri, parse_capture, validate_document
from trace.models import Lot, Product
from trace.models.epcis import CapturedEvent
from trace.services.events import NewEvent, record_event

GS1_EXAMPLES = shared("epcis")
EXAMPLES = sorted(EPCIS_DOCUMENTS.glob("*.jsonld")) + (
    sorted((GS1_EXAMPLES / "examples").glob("*.jsonld")) if GS1_EXAMPLES else []
)


def example(name: str) -> dict[str, Any]:
    return json.loads((EPCIS_DOCUMENTS / name).read_text(encoding="utf-8"))


def capture(api: Any, document: dict[str, Any], status: int = 201) -> Any:
    response = api.post("/api/v1/epcis/capture", json=document)
    assert response.status_code == status, response.json
    return response.json


def all_events(api: Any, **params: Any) -> list[dict[str, Any]]:
    events, url = [], "/api/v1/epcis/events"
    while url:
        page = api.get(url, query_string=params if url.startswith("/") else None).json
        events += page["items"]
        url = page["next"]
    return events


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_is_captured_and_comes_back_with_the_same_hash(
    inspector_api: Any, path: Path
) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    stored = capture(inspector_api, document)
    assert stored["schema_validated"] is True
    returned = {event_hash_id(event) for event in all_events(inspector_api)}
    assert set(stored["event_ids"]) <= returned


def test_capturing_the_same_document_twice_stores_its_events_once(
    inspector_api: Any, session: Session
) -> None:
    document = example("object-events.jsonld")
    first, second = capture(inspector_api, document), capture(inspector_api, document)
    assert first["new"] == 2 and second["new"] == 0
    assert first["event_ids"] == second["event_ids"]
    assert session.exec(select(func.count()).select_from(CapturedEvent)).one() == 2


def test_an_invalid_document_is_rejected_whole_with_its_reasons(
    inspector_api: Any, session: Session
) -> None:
    document = example("object-events.jsonld")
    document["epcisBody"]["eventList"][1]["action"] = "SOMETIMES"
    problem = capture(inspector_api, document, status=400)
    assert problem["type"].endswith("/invalid-epcis")
    assert any("eventList[1]" in error["pointer"] for error in problem["errors"])
    assert session.exec(select(func.count()).select_from(CapturedEvent)).one() == 0


def test_captured_events_naming_our_lot_attach_to_it(
    inspector_api: Any, session: Session, farm_a: Farm
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    event = receiving_event(lot_uri(gtin, lot.code))
    stored = capture(inspector_api, event)
    assert stored["lots"] == {stored["event_ids"][0]: [farm_a.lot_id]}
    mine = all_events(inspector_api, lot_id=farm_a.lot_id, eventType="ObjectEvent")
    assert event_hash_id(event) in {event_hash_id(e) for e in mine}


def test_our_own_events_are_queried_as_epcis_with_their_hash_ids(
    inspector_api: Any, session: Session, farm_a: Farm
) -> None:
    when = datetime.now().astimezone() - timedelta(hours=2)
    record_event(
        session,
        farm_a.actor,
        farm_a.lot_id,
        NewEvent("shipping", when, "Bến Lức", {"destination": "Chợ Bình Điền"}),
    )
    [shipped] = all_events(inspector_api, EQ_bizStep="shipping")
    assert shipped["bizStep"] == "shipping" and shipped["eventID"] == event_hash_id(shipped)
    assert all_events(inspector_api, EQ_bizStep="receiving") == []
    later = (when + timedelta(minutes=1)).isoformat()
    assert all_events(inspector_api, GE_eventTime=later) == []
    assert len(all_events(inspector_api, LT_eventTime=later)) == 1


def test_query_pages_cover_every_event_once_in_time_order(inspector_api: Any) -> None:
    for name in ("object-events.jsonld", "transaction-events.jsonld"):
        capture(inspector_api, example(name))
    paged = all_events(inspector_api, perPage=1)
    whole = inspector_api.get("/api/v1/epcis/events").json["items"]
    assert [event_hash_id(e) for e in paged] == [event_hash_id(e) for e in whole]
    assert len(whole) == 4


def test_the_query_document_is_a_valid_epcis_query_document(inspector_api: Any) -> None:
    capture(inspector_api, example("aggregation-event.jsonld"))
    response = inspector_api.get("/api/v1/epcis/events", headers={"Accept": "application/ld+json"})
    assert response.content_type == "application/ld+json"
    document = response.json
    assert document["type"] == "EPCISQueryDocument"
    assert validate_document(document) == []


def test_a_farmer_sees_only_captured_events_of_their_own_lots(
    inspector_api: Any, farmer_a_api: Any, farmer_b_api: Any, session: Session, farm_a: Farm
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    capture(inspector_api, receiving_event(lot_uri(gtin, lot.code)))
    assert len(all_events(farmer_a_api)) == 1
    assert all_events(farmer_b_api) == []


def receiving_event(lot_class: str) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T08:00:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "quantityList": [{"epcClass": lot_class, "quantity": 20, "uom": "KGM"}],
    }


def hash_ids(events: list[dict[str, Any]]) -> set[str]:
    return {event_hash_id(event) for event in events}


def test_the_query_parameters_select_what_the_epcis_standard_says(inspector_api: Any) -> None:
    names = ("object-events.jsonld", "aggregation-event.jsonld", "transaction-events.jsonld")
    captured = [e for name in names for e in parse_capture(example(name))]
    for name in names:
        capture(inspector_api, example(name))

    def expected(keep: Any) -> set[str]:
        return hash_ids([e for e in captured if keep(e)])

    assert hash_ids(all_events(inspector_api, EQ_disposition="in_transit")) == expected(
        lambda e: e.get("disposition") == "in_transit"
    )
    assert hash_ids(all_events(inspector_api, EQ_bizStep="receiving,shipping")) == expected(
        lambda e: e.get("bizStep") in ("receiving", "shipping")
    )
    assert hash_ids(all_events(inspector_api, eventType="AggregationEvent")) == expected(
        lambda e: e["type"] == "AggregationEvent"
    )
    location = "urn:epc:id:sgln:8936000.00001.0"
    assert hash_ids(all_events(inspector_api, EQ_bizLocation=location)) == expected(
        lambda e: (e.get("bizLocation") or {}).get("id") == location
    )
    pallet, case = "urn:epc:id:sscc:8936000.1000000001", "urn:epc:id:sgtin:8936000.001001.A1"
    assert hash_ids(all_events(inspector_api, MATCH_epc=case)) == expected(
        lambda e: case in e.get("epcList", []) + e.get("childEPCs", [])
    )
    assert all_events(inspector_api, MATCH_epc=pallet) == []  # a parent is not an epc
    assert hash_ids(all_events(inspector_api, MATCH_anyEPC=pallet)) == expected(
        lambda e: e.get("parentID") == pallet
    )
    since, until = datetime(2026, 3, 1, 17, tzinfo=UTC), datetime(2026, 3, 2, 17, tzinfo=UTC)
    window = {"GE_eventTime": since.isoformat(), "LT_eventTime": until.isoformat()}
    in_window = expected(lambda e: since <= datetime.fromisoformat(e["eventTime"]) < until)
    assert hash_ids(all_events(inspector_api, **window)) == in_window
    assert 0 < len(in_window) < len(captured)


def test_an_error_declaration_marks_the_event_already_stored(inspector_api: Any) -> None:
    capture(inspector_api, example("object-events.jsonld"))
    declared = capture(inspector_api, example("error-declaration.jsonld"))
    assert declared["new"] == 0 and declared["errors_declared"] == 1
    [shipped] = all_events(inspector_api, EQ_bizStep="shipping")
    assert shipped["errorDeclaration"]["reason"] == "incorrect_data"
    assert event_hash_id(shipped) == declared["event_ids"][0]  # the hash does not change


def test_a_captured_event_sent_without_an_id_comes_back_with_its_hash_id(
    inspector_api: Any,
) -> None:
    event = receiving_event("https://id.gs1.org/01/08936000010010/10/NOT-OURS")
    stored = capture(inspector_api, event)
    [returned] = all_events(inspector_api)
    assert returned["eventID"] == stored["event_ids"][0] == event_hash_id(event)


def test_a_document_only_the_json_schema_refuses_is_not_stored(
    inspector_api: Any, session: Session
) -> None:
    document = example("sensor-report-with-biz-rules.jsonld")
    document["sensorElementList"][0]["sensorReport"][0]["celsius"] = 4.5
    problem = capture(inspector_api, document, status=400)
    assert problem["errors"][0]["pointer"] == "$.sensorElementList[0].sensorReport[0]"
    assert session.exec(select(func.count()).select_from(CapturedEvent)).one() == 0


@pytest.mark.parametrize("broken", ["absent.json", "not-a-schema.json"])
def test_the_app_refuses_to_start_without_a_schema_that_loads(
    app_config: dict[str, Any], tmp_path: Path, broken: str
) -> None:
    (tmp_path / "not-a-schema.json").write_text('{"type": 12}', encoding="utf-8")
    app_config["EPCIS_SCHEMA_PATH"] = str(tmp_path / broken)
    with pytest.raises(ConfigError, match="EPCIS capture cannot validate documents"):
        create_app(app_config)

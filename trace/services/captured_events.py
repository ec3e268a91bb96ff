"""Captured EPCIS events attached to a lot, as its timeline, its document and FSMA 204 read them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from trace.epcis import EVENT_PROFILES
from trace.epcis.digital_link import normalise_identifier
from trace.epcis.identifiers import lot_uri
from trace.models import Lot, Producer, Product, User
from trace.models.epcis import CapturedEvent, CapturedEventLot
from trace.services.places import place_labels

#: Registry kinds a captured event may stand as, by its EPCIS type and bizStep. Harvest,
#: packing, transformation, planting, inputs and recalls are the producer's (or the
#: inspectors') own records; another party's event of that shape shows as ``captured``.
STANDING_KINDS = ("cooling", "shipping", "receiving", "inspection")
_KIND_OF = {
    (EVENT_PROFILES[kind].event_type, EVENT_PROFILES[kind].biz_step): kind
    for kind in STANDING_KINDS
}
CAPTURED_KIND = "captured"
_UNITS = {"KGM": "kg", "TNE": "tonne", "LTR": "litre"}  # UN/ECE Rec 20 -> our units
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")
_GLN_IN_DL = re.compile(r"/414/(\d{13})(?:/|$)")


@dataclass(frozen=True)
class CapturedEntry:
    """A captured event on a lot's timeline, read like a registry :class:`~trace.models.Event`.

    ``details`` holds what the event says in the registry's terms (``source``,
    ``destination``, ``quantity``, ``unit``) and who captured it (``captured_by``: their
    organisation or name, never an email; ``captured_by_role``).
    """

    event_id: int
    hash_id: str
    kind: str
    biz_step: str | None
    occurred_at: datetime  # aware, UTC
    tz_offset_minutes: int
    place: str
    details: dict[str, Any]
    captured_by: str
    captured_by_role: str
    note: str = ""
    supersedes_id: None = None
    captured: bool = True
    #: ``place`` as a reader reads it: the producer with that GLN, else ``GLN <digits>``.
    place_name: str = ""

    @property
    def id(self) -> str:
        """A page anchor that cannot collide with a registry event's id."""
        return f"epcis-{self.event_id}"


# sqlmodel's select() is typed for at most four entities; the annotation says what it is
# (the producer's name is None for a user who is not a farmer).
_ATTACHED: Select[CapturedEvent, str, str, str | None, str, str] = (
    select(CapturedEvent, User.full_name, User.role, Producer.name, Product.gtin, Lot.code)  # type: ignore[call-overload]
    .join(CapturedEventLot, col(CapturedEventLot.event_id) == CapturedEvent.id)
    .join(Lot, col(Lot.id) == CapturedEventLot.lot_id)
    .join(Product, col(Product.id) == Lot.product_id)
    .join(User, col(User.id) == CapturedEvent.captured_by_id)
    .outerjoin(Producer, col(Producer.id) == User.producer_id)
    .where(col(CapturedEventLot.lot_id) == bindparam("lot"))
    .order_by(col(CapturedEvent.event_time), col(CapturedEvent.id))
)


def captured_entries(session: Session, lot_id: int) -> list[CapturedEntry]:
    """The captured events attached to a lot, in time order; error-declared ones left out."""
    rows = session.exec(_ATTACHED, params={"lot": lot_id})
    entries = [
        _entry(event, organisation or name or "", role, lot_uri(gtin, code))
        for event, name, role, organisation, gtin, code in rows
        if "errorDeclaration" not in event.document
    ]
    return _with_place_names(session, entries)


def location_gln(place: str) -> str | None:
    """The GLN of a location identifier (an SGLN ``urn:epc:id:sgln:…`` or a DL ``/414/``)."""
    match = _GLN_IN_DL.search(normalise_identifier(place) or "")
    return match[1] if match else None


def _with_place_names(session: Session, entries: list[CapturedEntry]) -> list[CapturedEntry]:
    """Each entry's place as people read it (:func:`trace.services.places.place_labels`)."""
    labels = place_labels(session, (entry.place for entry in entries))
    return [replace(e, place_name=labels.get(e.place, "")) for e in entries]


def utc(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives it back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _entry(event: CapturedEvent, who: str, role: str, lot_class: str) -> CapturedEntry:
    document = event.document
    details = _quantity(document, lot_class) | _parties(document)
    details |= {"captured_by": who, "captured_by_role": role}
    return CapturedEntry(
        event_id=event.id,  # type: ignore[arg-type]
        hash_id=event.hash_id,
        kind=captured_kind(event),
        biz_step=event.biz_step,
        occurred_at=utc(event.event_time),
        tz_offset_minutes=_offset_minutes(document.get("eventTimeZoneOffset")),
        place=_place(document),
        details=details,
        captured_by=who,
        captured_by_role=role,
    )


def captured_kind(event: CapturedEvent) -> str:
    """The registry kind a captured event stands as (:data:`STANDING_KINDS`), else ``captured``."""
    return _KIND_OF.get((event.event_type, event.biz_step or ""), CAPTURED_KIND)


def offset_minutes(event: CapturedEvent) -> int:
    """The event's own time zone offset (``eventTimeZoneOffset``), in minutes."""
    return _offset_minutes(event.document.get("eventTimeZoneOffset"))


def _offset_minutes(text: object) -> int:
    match = _OFFSET.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return 0
    minutes = int(match[2]) * 60 + int(match[3])
    return -minutes if match[1] == "-" else minutes


def _place(document: Mapping[str, Any]) -> str:
    for name in ("bizLocation", "readPoint"):
        where = document.get(name)
        if isinstance(where, Mapping) and isinstance(where.get("id"), str):
            return str(where["id"])[:200]
    return ""


def _parties(document: Mapping[str, Any]) -> dict[str, str]:
    """The first source and destination (a location rather than a party when both are given)."""
    found: dict[str, str] = {}
    for field, member, detail in (
        ("sourceList", "source", "source"),
        ("destinationList", "destination", "destination"),
    ):
        items = [i for i in document.get(field) or [] if isinstance(i, Mapping)]
        items.sort(key=lambda i: 0 if str(i.get("type", "")).endswith("location") else 1)
        if items and isinstance(items[0].get(member), str):
            found[detail] = items[0][member][:200]
    return found


def _quantity(document: Mapping[str, Any], lot_class: str) -> dict[str, Any]:
    """How much of the lot the event moved, when it says so for the lot's class."""
    for element in document.get("quantityList") or []:
        if not isinstance(element, Mapping):
            continue
        if normalise_identifier(element.get("epcClass")) != lot_class:
            continue
        try:
            quantity = Decimal(str(element["quantity"])).normalize()
        except (KeyError, InvalidOperation):
            return {}
        uom = str(element.get("uom", ""))
        return {"quantity": f"{quantity:f}", "unit": _UNITS.get(uom, uom)}
    return {}

"""EPCIS 2.0 capture: validate a document whole, store its events once by event hash ID,
and attach them to the lots of ours they name (:mod:`trace.services.epcis_links`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from trace.epcis import EpcisValidationError, event_hash_id, parse_capture, validate_document
from trace.epcis.canonical import canonical_timestamp
from trace.epcis.digital_link import normalise_identifier
from trace.errors import TraceError
from trace.i18n import _l
from trace.models.epcis import CapturedEvent, CapturedEventLot, CapturedIdentifier
from trace.services.access import Actor
from trace.services.changes import mark_lot_changed
from trace.services.epcis_links import NamedLots

CHUNK = 500  # SQLite allows a few hundred bound parameters per IN list comfortably
EPC_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
CLASS_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
CBV_PREFIXES = {
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"),
}


class InvalidEpcis(TraceError):
    """The document was rejected whole; ``field_errors`` lists each reason with its path."""

    status = 400
    slug = "invalid-epcis"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(_l("The EPCIS document is invalid; nothing was stored."))
        self.field_errors = errors


@dataclass(frozen=True)
class CaptureResult:
    """What a capture stored: every event's hash ID, which were new, which lots they name."""

    hash_ids: list[str]
    new: int
    lots: dict[str, list[int]] = field(default_factory=dict)
    errors_declared: int = 0


def capture(
    session: Session, actor: Actor, document: Mapping[str, Any], schema_path: Path | None = None
) -> CaptureResult:
    """Capture an EPCIS 2.0 document or single event; capturing it again stores nothing new.

    Every document passes the checks of :func:`trace.epcis.parse_capture` and the EPCIS 2.0
    JSON schema; validation is never skipped.

    :param schema_path: the EPCIS JSON schema; None for the one shipped in the package
        (:data:`trace.epcis.DEFAULT_SCHEMA_PATH`).
    :raises InvalidEpcis: any problem, with the JSON path of each; nothing is stored.
    :raises FileNotFoundError: when the schema is missing (the app checks it at start).
    """
    events = _checked_events(document, schema_path)
    rows = _unique_rows(events)
    try:
        new = _store(session, actor, rows)
    except IntegrityError:  # a concurrent capture stored some of the same events
        session.rollback()
        new = _store(session, actor, rows)
    declared = _declare_errors(session, rows)
    lots = _linked_lots(session, list(rows))
    session.commit()
    hash_ids = [row["hash_id"] for row in rows.values()]
    return CaptureResult(hash_ids, new, lots, declared)


def _checked_events(document: Mapping[str, Any], schema_path: Path | None) -> list[dict[str, Any]]:
    try:
        events = parse_capture(document)
    except EpcisValidationError as error:
        raise InvalidEpcis(_as_problems(error.errors)) from None
    messages = validate_document(document, schema_path)
    if messages:
        raise InvalidEpcis([_split(message) for message in messages])
    return events


def _as_problems(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"pointer": e["path"], "detail": e["message"]} for e in errors]


def _split(message: str) -> dict[str, str]:
    path, _, detail = message.partition(": ")
    return {"pointer": path, "detail": detail or message}


def _unique_rows(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        hash_id = event_hash_id(event)
        rows.setdefault(hash_id, _row(hash_id, event))
    return rows


def _row(hash_id: str, event: dict[str, Any]) -> dict[str, Any]:
    location = event.get("bizLocation")
    return {
        "hash_id": hash_id,
        "event_type": event["type"],
        "event_time": _utc(event["eventTime"]),
        "biz_step": cbv_value("bizStep", event.get("bizStep")),
        "disposition": cbv_value("disposition", event.get("disposition")),
        "biz_location": _identifier(location.get("id")) if isinstance(location, dict) else None,
        "document": event,
        "identifiers": identifiers_of(event),
    }


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(canonical_timestamp(value).replace("Z", "+00:00")).astimezone(UTC)


def cbv_value(kind: str, value: object) -> str | None:
    """A CBV value in its bare form (``shipping``); other vocabularies stay URIs."""
    if not isinstance(value, str):
        return None
    for prefix in CBV_PREFIXES[kind]:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value[:200]


def _identifier(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return (normalise_identifier(value) or value)[:250]


def identifiers_of(event: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (identifier, role) pairs an event names; roles ``epc``, ``parent``, ``class``."""
    found: set[tuple[str, str]] = set()
    for name in EPC_FIELDS:
        found |= {(i, "epc") for i in map(_identifier, event.get(name) or []) if i}
    for name in CLASS_FIELDS:
        classes = (q.get("epcClass") for q in event.get(name) or [] if isinstance(q, dict))
        found |= {(i, "class") for i in map(_identifier, classes) if i}
    parent = _identifier(event.get("parentID"))
    if parent:
        found.add((parent, "parent"))
    return found


def _store(session: Session, actor: Actor, rows: dict[str, dict[str, Any]]) -> int:
    known = set(_existing(session, list(rows)))
    fresh = [row for hash_id, row in rows.items() if hash_id not in known]
    if not fresh:
        return 0
    columns = [{k: v for k, v in row.items() if k != "identifiers"} for row in fresh]
    for values in columns:
        values["captured_by_id"] = actor.user_id
    statement = insert(CapturedEvent).returning(col(CapturedEvent.id), col(CapturedEvent.hash_id))
    ids = dict((h, i) for i, h in session.execute(statement, columns))
    links = [
        {"event_id": ids[row["hash_id"]], "identifier": identifier, "role": role}
        for row in fresh
        for identifier, role in row["identifiers"]
    ]
    if links:
        session.execute(insert(CapturedIdentifier), links)
    _link_lots(session, ids, fresh)
    return len(fresh)


def _declare_errors(session: Session, rows: dict[str, dict[str, Any]]) -> int:
    """Add the ``errorDeclaration`` of re-captured events to the stored ones.

    An error declaration repeats the erroneous event with ``errorDeclaration`` added; the
    declaration is not part of the event hash, so it names the stored event exactly.
    """
    declared = {h: r["document"] for h, r in rows.items() if "errorDeclaration" in r["document"]}
    if not declared:
        return 0
    stored = session.exec(
        select(CapturedEvent).where(col(CapturedEvent.hash_id).in_(list(declared)))
    ).all()
    changed = 0
    for event in stored:
        declaration = declared[event.hash_id]["errorDeclaration"]
        if event.document.get("errorDeclaration") != declaration:
            event.document = {**event.document, "errorDeclaration": declaration}
            session.add(event)
            changed += 1
    return changed


def _existing(session: Session, hash_ids: list[str]) -> Iterable[str]:
    for start in range(0, len(hash_ids), CHUNK):
        chunk = hash_ids[start : start + CHUNK]
        yield from session.exec(
            select(CapturedEvent.hash_id).where(col(CapturedEvent.hash_id).in_(chunk))
        )


def _link_lots(session: Session, ids: dict[str, int], rows: list[dict[str, Any]]) -> None:
    """Attach new events to the lots they name; each such lot gets a new document version."""
    named = NamedLots()
    for row in rows:
        named.add_event(row["hash_id"], row["document"], row["identifiers"])
    lots = named.resolve(session)
    # In lot order: each link raises its lot's story version (migration 0022), locking the
    # lot's row on PostgreSQL, and writers that lock several lots do so in id order.
    links = sorted(
        (
            {"event_id": ids[h], "lot_id": lot_id}
            for h, lot_ids in lots.items()
            for lot_id in lot_ids
        ),
        key=lambda link: (link["lot_id"], link["event_id"]),
    )
    if links:
        session.execute(insert(CapturedEventLot), links)
    for lot_id in sorted({link["lot_id"] for link in links}):
        mark_lot_changed(session, lot_id)


def _linked_lots(session: Session, hash_ids: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for start in range(0, len(hash_ids), CHUNK):
        statement = (
            select(CapturedEvent.hash_id, CapturedEventLot.lot_id)
            .join(CapturedEventLot, col(CapturedEventLot.event_id) == CapturedEvent.id)
            .where(col(CapturedEvent.hash_id).in_(hash_ids[start : start + CHUNK]))
        )
        for hash_id, lot_id in session.exec(statement):
            found.setdefault(hash_id, []).append(lot_id)
    return found

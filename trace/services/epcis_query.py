"""EPCIS 2.0 queries over our own events (rendered with their hash IDs) and captured ones.

Results are ordered by (event time, source, id) and paged with an opaque cursor, so a page
costs the same however deep it is.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from trace.db import AnySelect
from trace.epcis import EVENT_PROFILES
from trace.epcis.digital_link import normalise_identifier
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Event, Lot, Plot, Producer, Product, Role
from trace.models.epcis import CapturedEvent, CapturedEventLot, CapturedIdentifier
from trace.services.access import Actor
from trace.services.epcis_events import to_epcis
from trace.services.epcis_links import LOT_CLASS
from trace.services.epcis_store import cbv_value

OWN, CAPTURED = 0, 1
#: Where an event sorts: (event time, OWN or CAPTURED, id); the page cursor is one.
_Key = tuple[datetime, int, int]


@dataclass(frozen=True)
class EventQuery:
    """The EPCIS 2.0 query parameters we answer (all optional; lists match any value)."""

    event_types: list[str] = field(default_factory=list)
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    biz_steps: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    biz_locations: list[str] = field(default_factory=list)
    epcs: list[str] = field(default_factory=list)
    any_epcs: list[str] = field(default_factory=list)
    epc_classes: list[str] = field(default_factory=list)
    lot_id: int | None = None
    per_page: int = 100
    next_page_token: str | None = None


@dataclass(frozen=True)
class EventPage:
    """One page of EPCIS events and the cursor of the next page, if any."""

    events: list[dict[str, Any]]
    next_page_token: str | None


def query_events(session: Session, actor: Actor, query: EventQuery) -> EventPage:
    """Answer an EPCIS query: our events and captured events the actor may see.

    A farmer sees their producer's events and captured events attached to their lots.

    :raises ValidationError: a malformed ``nextPageToken``.
    """
    cursor = _decode(query.next_page_token)
    own = session.exec(_own_statement(actor, query, cursor).limit(query.per_page + 1)).all()
    captured = session.exec(_captured_statement(actor, query, cursor).limit(query.per_page + 1))
    keyed: list[tuple[_Key, tuple[str, Any]]] = [
        (_key(row[0].occurred_at, OWN, row[0].id), ("own", tuple(row))) for row in own
    ]
    keyed += [(_key(c.event_time, CAPTURED, c.id), ("captured", c)) for c in captured]
    keyed.sort(key=lambda pair: pair[0])
    page = keyed[: query.per_page]
    token = _encode(page[-1][0]) if len(keyed) > query.per_page else None
    return EventPage([_render(kind, row) for _, (kind, row) in page], token)


def _key(moment: datetime, source: int, event_id: int | None) -> _Key:
    assert event_id is not None  # a row read from the database has its id
    return moment, source, event_id


def _render(kind: str, row: Any) -> dict[str, Any]:
    if kind == "own":
        return to_epcis(*row)
    # A captured event keeps the eventID its sender gave it; one sent without gets its
    # CBV 2.0 event hash ID (eventID is not hashed, so the hash is unchanged).
    return {"eventID": row.hash_id, **row.document}


def _own_statement(
    actor: Actor, query: EventQuery, cursor: _Key | None
) -> Select[Event, Lot, Product, Producer, Plot | None]:
    # sqlmodel's select() is typed for at most four entities; the annotation says what it is.
    statement: Select[Event, Lot, Product, Producer, Plot | None] = (
        select(Event, Lot, Product, Producer, Plot)  # type: ignore[call-overload]
        .join(Lot, col(Lot.id) == Event.lot_id)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .outerjoin(Plot, col(Plot.id) == Lot.plot_id)
        .where(col(Event.kind).in_(_kinds(query)))
    )
    if actor.role == Role.FARMER:
        statement = statement.where(Lot.producer_id == (actor.producer_id or -1))
    if query.epcs or query.any_epcs:
        statement = statement.where(false())  # our events name lots by class, not instances
    statement = _time_window(statement, Event.occurred_at, query, cursor, OWN, Event.id)
    if query.biz_locations:
        statement = statement.where(col(Producer.gln).in_(_glns(query.biz_locations)))
    if query.epc_classes:
        statement = statement.where(_lot_class_condition(query.epc_classes))
    if query.lot_id is not None:
        statement = statement.where(Event.lot_id == query.lot_id)
    return statement.order_by(col(Event.occurred_at), col(Event.id))


def _kinds(query: EventQuery) -> list[str]:
    steps = {cbv_value("bizStep", s) for s in query.biz_steps}
    dispositions = {cbv_value("disposition", d) for d in query.dispositions}
    return [
        kind
        for kind, profile in EVENT_PROFILES.items()
        if (not query.event_types or profile.event_type in query.event_types)
        and (not steps or profile.biz_step in steps)
        and (not dispositions or profile.disposition in dispositions)
    ]


def _glns(locations: list[str]) -> list[str]:
    found = []
    for value in locations:
        uri = normalise_identifier(value) or value
        match = re.fullmatch(r"https://id\.gs1\.org/414/(\d{13})", uri)
        if match:
            found.append(match[1])
    return found


def _lot_class_condition(classes: list[str]) -> Any:
    pairs = []
    for value in classes:
        match = LOT_CLASS.match(normalise_identifier(value) or value)
        if match:
            pairs.append(and_(col(Product.gtin) == match[1], col(Lot.code) == match[2]))
    return or_(*pairs) if pairs else false()


def _captured_statement(
    actor: Actor, query: EventQuery, cursor: _Key | None
) -> SelectOfScalar[CapturedEvent]:
    statement = select(CapturedEvent)
    if actor.role == Role.FARMER:
        mine = select(CapturedEventLot.event_id).join(Lot, col(Lot.id) == CapturedEventLot.lot_id)
        mine = mine.where(Lot.producer_id == (actor.producer_id or -1))
        statement = statement.where(col(CapturedEvent.id).in_(mine))
    statement = _time_window(
        statement, CapturedEvent.event_time, query, cursor, CAPTURED, CapturedEvent.id
    )
    for values, column in (
        (query.event_types, CapturedEvent.event_type),
        ([cbv_value("bizStep", s) for s in query.biz_steps], CapturedEvent.biz_step),
        ([cbv_value("disposition", d) for d in query.dispositions], CapturedEvent.disposition),
        ([normalise_identifier(v) or v for v in query.biz_locations], CapturedEvent.biz_location),
    ):
        if values:
            statement = statement.where(col(column).in_(values))
    for values, roles in (
        (query.epcs, ["epc"]),
        (query.any_epcs, ["epc", "parent"]),
        (query.epc_classes, ["class"]),
    ):
        if values:
            statement = statement.where(_names(values, roles))
    if query.lot_id is not None:
        linked = select(CapturedEventLot.event_id).where(CapturedEventLot.lot_id == query.lot_id)
        statement = statement.where(col(CapturedEvent.id).in_(linked))
    return statement.order_by(col(CapturedEvent.event_time), col(CapturedEvent.id))


def _names(values: list[str], roles: list[str]) -> Any:
    identifiers = [normalise_identifier(v) or v for v in values]
    return exists().where(
        col(CapturedIdentifier.event_id) == CapturedEvent.id,
        col(CapturedIdentifier.role).in_(roles),
        col(CapturedIdentifier.identifier).in_(identifiers),
    )


def _time_window(
    statement: AnySelect,
    time_column: Any,
    query: EventQuery,
    cursor: _Key | None,
    source: int,
    id_column: Any,
) -> AnySelect:
    if query.ge_event_time is not None:
        statement = statement.where(col(time_column) >= query.ge_event_time)
    if query.lt_event_time is not None:
        statement = statement.where(col(time_column) < query.lt_event_time)
    if cursor is None:
        return statement
    moment, cursor_source, cursor_id = cursor
    later = col(time_column) > moment
    if source > cursor_source:
        return statement.where(col(time_column) >= moment)
    if source < cursor_source:
        return statement.where(later)
    return statement.where(or_(later, and_(col(time_column) == moment, col(id_column) > cursor_id)))


def _encode(key: _Key) -> str:
    raw = json.dumps([key[0].isoformat(), key[1], key[2]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str | None) -> _Key | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        moment, source, event_id = json.loads(raw)
        return datetime.fromisoformat(moment), int(source), int(event_id)
    except (ValueError, TypeError):
        raise ValidationError({"nextPageToken": _l("This page token is not valid.")}) from None

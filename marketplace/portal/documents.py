"""What the portal should hold for each of our objects: records to push and their documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlmodel import Session, col, select

from marketplace.listing import lot_link
from marketplace.portal import mapping as m
from marketplace.portal.models import PortalRecord, RecordKind
from trace.db import conflict_insert
from trace.models import Event, Lot, Plot, Producer, Product

K = RecordKind
COLLECTION_PATHS = {
    K.PRODUCT: m.PRODUCTS_PATH,
    K.GROWING_AREA: m.GROWING_AREAS_PATH,
    K.PRODUCTION_ORDER: m.PRODUCTION_ORDERS_PATH,
    K.STAGE_EVENT: m.STAGE_EVENTS_PATH,
}


@dataclass(frozen=True)
class Outgoing:
    """A record's document, the path it goes to, and the records it needs on the portal first."""

    path: str
    doc: dict[str, Any]
    parents: tuple[tuple[str, int], ...] = field(default_factory=tuple)


#: The portal id of a record already sent (kind, local id), or None.
RemoteOf = Callable[[str, int], str | None]


def source_ref(kind: str, local_id: int) -> str:
    """Our stable reference of an object on the portal (for look-ups after a lost answer)."""
    return f"agritrace:{kind}:{local_id}"


def portal_id(value: str | None) -> int | str | None:
    """A portal id as the portal takes it (the sandbox numbers its objects)."""
    return int(value) if value is not None and value.isdigit() else value


def ensure_records(session: Session, producer_id: int, lot_id: int | None = None) -> None:
    """Add a record for each of the producer's objects the portal takes (or one lot's).

    Concurrent callers are safe: a record that exists already is left alone.
    """
    lots = select(Lot).where(Lot.producer_id == producer_id)
    if lot_id is not None:
        lots = lots.where(Lot.id == lot_id)
    lot_rows = list(session.exec(lots))
    wanted: list[dict[str, Any]] = [_row(K.ORGANISATION, producer_id, producer_id)]
    products = {lot.product_id for lot in lot_rows}
    plots = {lot.plot_id for lot in lot_rows if lot.plot_id is not None}
    if lot_id is None:
        products |= set(session.exec(select(Product.id).where(Product.producer_id == producer_id)))  # type: ignore[arg-type]
        plots |= set(session.exec(select(Plot.id).where(Plot.producer_id == producer_id)))  # type: ignore[arg-type]
    wanted += [_row(K.PRODUCT, producer_id, i) for i in sorted(products)]
    wanted += [_row(K.GROWING_AREA, producer_id, i) for i in sorted(plots)]
    for lot in lot_rows:
        wanted.append(_row(K.PRODUCTION_ORDER, producer_id, lot.id, lot.id))  # type: ignore[arg-type]
        if lot.recalled_at is not None:
            wanted.append(_row(K.RECALL, producer_id, lot.id, lot.id))  # type: ignore[arg-type]
    events = select(Event).where(col(Event.lot_id).in_([lot.id for lot in lot_rows]))
    for event in session.exec(events.order_by(col(Event.id))):
        if m.stage_for(event.kind, event.details) is not None:
            wanted.append(_row(K.STAGE_EVENT, producer_id, event.id, event.lot_id))  # type: ignore[arg-type]
    _insert_missing(session, wanted)


def _row(kind: str, producer_id: int, local_id: int, lot_id: int | None = None) -> dict[str, Any]:
    fresh = PortalRecord(producer_id=producer_id, kind=kind, local_id=local_id, lot_id=lot_id)
    return fresh.model_dump(exclude={"id"})


def _insert_missing(session: Session, rows: list[dict[str, Any]]) -> None:
    known = {
        (kind, local)
        for kind, local in session.exec(
            select(PortalRecord.kind, PortalRecord.local_id).where(
                col(PortalRecord.producer_id) == rows[0]["producer_id"]
            )
        )
    }
    missing = [row for row in rows if (row["kind"], row["local_id"]) not in known]
    if missing:
        table = PortalRecord.__table__  # type: ignore[attr-defined]
        session.execute(conflict_insert(session, table).values(missing).on_conflict_do_nothing())
    session.commit()


def outgoing(session: Session, record: PortalRecord, base_url: str, remote: RemoteOf) -> Outgoing:
    """The document ``record`` should carry now, built from the registry."""
    org = portal_id(remote(K.ORGANISATION, record.producer_id))
    builders = {
        K.ORGANISATION: _organisation,
        K.PRODUCT: _product,
        K.GROWING_AREA: _area,
        K.PRODUCTION_ORDER: _order,
        K.STAGE_EVENT: _event,
        K.RECALL: _recall,
    }
    built = builders[RecordKind(record.kind)](session, record, base_url, remote)
    if record.kind in (K.ORGANISATION, K.RECALL):
        return built
    doc = {m.SOURCE_REF: source_ref(record.kind, record.local_id), m.ORG_ID: org, **built.doc}
    parents = ((K.ORGANISATION.value, record.producer_id), *built.parents)
    return Outgoing(built.path, doc, parents)


def _organisation(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    producer = session.get(Producer, record.local_id)
    assert producer is not None
    address = ", ".join(
        part for part in (producer.address_line, producer.commune, producer.district,
                          producer.province) if part
    )  # fmt: skip
    key = {m.GLN: producer.gln} if producer.gln else {m.TAX_CODE: producer.registration_number}
    return Outgoing(m.ACTIVATE_PATH, {**key, m.ORG_NAME: producer.name, m.ORG_ADDRESS: address})


def _product(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    product = session.get(Product, record.local_id)
    assert product is not None
    doc = {m.GTIN: product.gtin, m.PRODUCT_NAME: product.name_vi,
           m.PRODUCT_NAME_EN: product.name_en, m.PRODUCT_CATEGORY: product.category,
           m.UNIT: product.unit}  # fmt: skip
    return Outgoing(m.PRODUCTS_PATH, doc)


def _area(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    plot = session.get(Plot, record.local_id)
    assert plot is not None
    doc = {m.AREA_NAME: plot.name, m.AREA_HECTARES: plot.area_ha,
           m.LATITUDE: plot.latitude, m.LONGITUDE: plot.longitude}  # fmt: skip
    return Outgoing(m.GROWING_AREAS_PATH, doc)


def trace_code(session: Session, lot: Lot, base_url: str) -> str:
    """The lot's chain identifier on the portal: its GS1 Digital Link."""
    product = session.get(Product, lot.product_id)
    assert product is not None
    return lot_link(base_url, product.gtin, lot.code)


def _order(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    lot = session.get(Lot, record.local_id)
    product = session.get(Product, lot.product_id) if lot else None
    assert lot is not None and product is not None
    parents = [(K.PRODUCT.value, lot.product_id)]
    if lot.plot_id is not None:
        parents.append((K.GROWING_AREA.value, lot.plot_id))
    area = portal_id(remote(K.GROWING_AREA, lot.plot_id)) if lot.plot_id else None
    doc = {m.ORDER_CODE: lot.code, m.ORDER_GTIN: product.gtin, m.ORDER_AREA: area,
           m.TRACE_CODE: trace_code(session, lot, base), m.QUANTITY: str(lot.quantity),
           m.UNIT: lot.unit, m.HARVEST_DATE: lot.harvest_date.isoformat()}  # fmt: skip
    return Outgoing(m.PRODUCTION_ORDERS_PATH, doc, tuple(parents))


def _event(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    event = session.get(Event, record.local_id)
    lot = session.get(Lot, event.lot_id) if event else None
    assert event is not None and lot is not None
    replaces = source_ref(K.STAGE_EVENT, event.supersedes_id) if event.supersedes_id else None
    doc = {m.TRACE_CODE: trace_code(session, lot, base),
           m.STAGE: m.stage_for(event.kind, event.details),
           m.EVENT_TIME: event.occurred_at.astimezone(UTC).isoformat(),
           m.LOCATION: event.place, m.NOTE: event.note, m.REPLACES: replaces}  # fmt: skip
    return Outgoing(m.STAGE_EVENTS_PATH, doc, ((K.PRODUCTION_ORDER.value, lot.id),))  # type: ignore[arg-type]


def _recall(session: Session, record: PortalRecord, base: str, remote: RemoteOf) -> Outgoing:
    lot = session.get(Lot, record.local_id)
    assert lot is not None and lot.recalled_at is not None
    order = remote(K.PRODUCTION_ORDER, record.local_id) or "0"
    doc = {m.RECALL_REASON: lot.recall_reason or "",
           m.RECALLED_AT: lot.recalled_at.astimezone(UTC).isoformat()}  # fmt: skip
    parents = ((K.PRODUCTION_ORDER.value, record.local_id),)
    return Outgoing(m.RECALL_PATH.format(id=order), doc, parents)

"""Everything the registry holds about one lot, as inspectors read it: the full record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from trace.models import (
    AnchorRound,
    Certification,
    Event,
    Lot,
    LotDocument,
    Plot,
    Producer,
    Product,
)
from trace.services import lots as lot_service
from trace.services.access import Actor, owned
from trace.services.epcis_events import hash_id_of
from trace.services.events import registry_events, timeline


@dataclass(frozen=True)
class RecordedEvent:
    """An event with its CBV event hash ID and the event that corrected it, if any."""

    event: Event
    hash_id: str
    superseded_by: int | None


@dataclass(frozen=True)
class LotRecord:
    """A lot with its product, producer, plot, events, certifications and anchors."""

    lot: Lot
    product: Product
    producer: Producer
    plot: Plot | None
    events: list[RecordedEvent]
    certifications: list[Certification]
    versions: list[tuple[LotDocument, AnchorRound | None]]
    inputs: list[tuple[Lot, Product]]
    outputs: list[tuple[Lot, Product]]


def lot_record(session: Session, actor: Actor, lot_id: int) -> LotRecord:
    """The full record of a lot the actor may see.

    :raises NotFound: unknown lot, or another producer's lot for a farmer.
    """
    lot = owned(session, actor, Lot, lot_id)
    product = session.get(Product, lot.product_id)
    producer = session.get(Producer, lot.producer_id)
    assert product is not None and producer is not None
    plot = session.get(Plot, lot.plot_id) if lot.plot_id else None
    return LotRecord(
        lot=lot,
        product=product,
        producer=producer,
        plot=plot,
        events=recorded_events(session, lot, product, producer, plot),
        certifications=certifications_of(session, producer.id),  # type: ignore[arg-type]
        versions=document_versions(session, lot_id),
        inputs=step(session, actor, lot_service.input_lots(session, lot_id)),
        outputs=step(session, actor, lot_service.output_lots(session, lot_id)),
    )


def recorded_events(
    session: Session, lot: Lot, product: Product, producer: Producer, plot: Plot | None
) -> list[RecordedEvent]:
    """A lot's own events in time order, each with its event hash ID.

    Events captured for the lot are read through the EPCIS query (``lot_id``).
    """
    return [
        RecordedEvent(
            entry.event,  # type: ignore[arg-type]
            hash_id_of(entry.event, lot, product, producer, plot),  # type: ignore[arg-type]
            entry.superseded_by,
        )
        for entry in registry_events(timeline(session, lot.id))  # type: ignore[arg-type]
    ]


def certifications_of(session: Session, producer_id: int) -> list[Certification]:
    """A producer's certifications, latest validity first."""
    statement = select(Certification).where(Certification.producer_id == producer_id)
    return list(session.exec(statement.order_by(col(Certification.valid_to).desc())))


def document_versions(
    session: Session, lot_id: int
) -> list[tuple[LotDocument, AnchorRound | None]]:
    """Every stored document version of a lot with its round (None while unassigned)."""
    statement = (
        select(LotDocument, AnchorRound)
        .outerjoin(AnchorRound, col(AnchorRound.id) == LotDocument.round_id)
        .where(LotDocument.lot_id == lot_id)
        .order_by(col(LotDocument.version))
    )
    return [(document, anchor) for document, anchor in session.exec(statement)]


def step(session: Session, actor: Actor, found: list[Lot]) -> list[tuple[Lot, Product]]:
    """Lots one step away, with their products, limited to those the actor may see."""
    visible = [lot for lot in found if actor.can_see(lot.producer_id)]
    products = {p.id: p for p in _products(session, {lot.product_id for lot in visible})}
    return [(lot, products[lot.product_id]) for lot in visible]


def _products(session: Session, ids: set[int]) -> list[Product]:
    if not ids:
        return []
    return list(session.exec(select(Product).where(col(Product.id).in_(ids))))

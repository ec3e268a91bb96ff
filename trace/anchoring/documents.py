"""Lot documents: gathering a lot's facts for the builder, and the versions stored of them.

The document itself is built in one place, :func:`trace.anchoring.lot_document.lot_document`;
here its facts are read, for one lot (:func:`build_document`) or many at once
(:func:`build_documents`, the scale seeder's path) with the same few bulk queries. A lot
anchored under schema 1 keeps being checked against schema 1 until it changes; its next
version is the newest schema when the schema-1 view of the data shows nothing but additions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from trace.alerts.sources import alert_tampered
from trace.anchoring.lot_document import (
    DOCUMENT_SCHEMA,
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    LotFacts,
    encoded,
    lot_document,
    stored_stamp_root,
)
from trace.db import snapshot
from trace.models import (
    Certification,
    Event,
    Lot,
    LotDocument,
    LotInput,
    Plot,
    Producer,
    Product,
)
from trace.models.base import utcnow
from trace.models.epcis import CapturedEvent, CapturedEventLot

__all__ = [
    "DOCUMENT_SCHEMA",
    "SCHEMA_1",
    "SCHEMA_2",
    "SCHEMA_3",
    "build_document",
    "build_documents",
    "gather_facts",
    "latest_version",
    "refresh_document",
]
T = TypeVar("T")


def build_document(
    session: Session, lot_id: int, *, schema: str = DOCUMENT_SCHEMA
) -> dict[str, Any]:
    """The lot's document as the database has it now (JSON-ready, canonicalised on hashing).

    :param schema: an older schema (:data:`SCHEMA_1` to :data:`SCHEMA_3`) builds what a lot
        recorded under it is checked against.
    :raises LookupError: unknown lot.
    """
    return lot_document(_facts(session, lot_id), schema)


def _facts(session: Session, lot_id: int) -> LotFacts:
    facts = gather_facts(session, [lot_id]).get(lot_id)
    if facts is None:
        raise LookupError(f"no lot {lot_id}")
    return facts


def build_documents(
    session: Session, lot_ids: Sequence[int], *, schema: str = DOCUMENT_SCHEMA
) -> dict[int, dict[str, Any]]:
    """:func:`build_document` for many lots at once (unknown ids are left out), by lot id."""
    return {
        lot_id: lot_document(facts, schema)
        for lot_id, facts in gather_facts(session, lot_ids).items()
    }


def gather_facts(session: Session, lot_ids: Sequence[int]) -> dict[int, LotFacts]:
    """Everything the documents of ``lot_ids`` record, read with six queries whatever the count.

    Keep the id list to a few thousand (it becomes an ``IN`` list). Unknown ids are left out.
    """
    rows = session.exec(
        select(Lot, Product, Producer)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .where(col(Lot.id).in_(list(lot_ids)))
        .order_by(col(Lot.id))
    ).all()
    ids = [lot.id for lot, _, _ in rows]
    plots = _plots(session, {lot.plot_id for lot, _, _ in rows if lot.plot_id})
    certifications = _certifications(session, {producer.id for _, _, producer in rows})
    events = _grouped(
        session.exec(select(Event).where(col(Event.lot_id).in_(ids)).order_by(col(Event.id))),
        lambda event: event.lot_id,
    )
    inputs, captured = _inputs(session, ids), _captured(session, ids)
    facts: dict[int, LotFacts] = {}
    for lot, product, producer in rows:
        assert lot.id is not None
        facts[lot.id] = LotFacts(
            lot,
            product,
            producer,
            plot=plots.get(lot.plot_id) if lot.plot_id else None,
            certifications=certifications.get(producer.id, []),
            events=events.get(lot.id, []),
            inputs=inputs.get(lot.id, []),
            captured=captured.get(lot.id, []),
        )
    return facts


def _grouped(items: Iterable[T], key: Callable[[T], int | None]) -> dict[int | None, list[T]]:
    groups: dict[int | None, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def _plots(session: Session, plot_ids: set[int]) -> dict[int | None, Plot]:
    return {plot.id: plot for plot in session.exec(select(Plot).where(col(Plot.id).in_(plot_ids)))}


def _certifications(
    session: Session, producer_ids: set[int | None]
) -> dict[int | None, list[Certification]]:
    """Each producer's certifications, by id (the document lists them all, covering or not)."""
    statement = (
        select(Certification)
        .where(col(Certification.producer_id).in_(producer_ids))
        .order_by(col(Certification.id))
    )
    return _grouped(session.exec(statement), lambda cert: cert.producer_id)


def _inputs(session: Session, lot_ids: list[int | None]) -> dict[int | None, list[tuple[str, str]]]:
    statement = (
        select(LotInput.output_lot_id, Product.gtin, Lot.code)
        .join(Lot, col(LotInput.input_lot_id) == Lot.id)
        .join(Product, col(Product.id) == Lot.product_id)
        .where(col(LotInput.output_lot_id).in_(lot_ids))
        .order_by(col(Lot.id))
    )
    found: dict[int | None, list[tuple[str, str]]] = defaultdict(list)
    for output_id, gtin, code in session.exec(statement):
        found[output_id].append((gtin, code))
    return found


def _captured(session: Session, lot_ids: list[int | None]) -> dict[int | None, list[CapturedEvent]]:
    """The captured events attached to each lot, error-declared ones too."""
    statement = (
        select(CapturedEventLot.lot_id, CapturedEvent)
        .join(CapturedEvent, col(CapturedEvent.id) == CapturedEventLot.event_id)
        .where(col(CapturedEventLot.lot_id).in_(lot_ids))
    )
    found: dict[int | None, list[CapturedEvent]] = defaultdict(list)
    for lot_id, event in session.exec(statement):
        found[lot_id].append(event)
    return found


def latest_version(session: Session, lot_id: int) -> LotDocument | None:
    """The newest stored document version of a lot."""
    statement = (
        select(LotDocument)
        .where(LotDocument.lot_id == lot_id)
        .order_by(col(LotDocument.version).desc())
    )
    return session.exec(statement).first()


def refresh_document(session: Session, lot_id: int) -> LotDocument | None:
    """Store a new document version when the lot changed the way the service changes lots.

    A change that rewrites history (a lot field, an earlier event, a certificate) cannot
    come from the service: the lot is marked tampered and no version launders it.

    :returns: the new version, or None (unchanged, or tampered).
    """
    # One snapshot: a change committed while the facts are read would otherwise tear them
    # into a document no state of the lot ever gave (its own job re-runs after this one).
    with snapshot(session.get_bind()) as consistent:
        facts = _facts(consistent, lot_id)
        document = lot_document(facts)
        text, digest = encoded(document)
        latest = latest_version(consistent, lot_id)
        if latest is not None and latest.doc_hash == digest:
            return None
        follows = latest is None or _succeeds(facts, json.loads(latest.canonical_json), document)
        number = latest.version + 1 if latest else 1
    if not follows:
        mark_tampered(session, lot_id)
        return None
    version = LotDocument(
        lot_id=lot_id,
        version=number,
        canonical_json=text,
        doc_hash=digest,
        stamp_root=stored_stamp_root(document),
    )
    session.add(version)
    session.commit()
    return version


def _succeeds(facts: LotFacts, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """:func:`is_successor`, comparing a schema-1 document with the schema-1 view of the data."""
    if old.get("schema") == SCHEMA_1 and new["schema"] != SCHEMA_1:
        return is_successor(old, lot_document(facts, SCHEMA_1))
    return is_successor(old, new)


def document_schema(version: LotDocument) -> str:
    """The schema a stored version was written under."""
    return str(json.loads(version.canonical_json).get("schema", SCHEMA_1))


def is_successor(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new`` only adds to ``old``: events, captured events, certificates, stamps,
    a recall."""
    old_captured, new_captured = old.get("captured_events", []), new.get("captured_events", [])
    return (
        _lot_facts(old) == _lot_facts(new)
        and old["product"] == new["product"]
        and new["events"][: len(old["events"])] == old["events"]
        and all(event in new_captured for event in old_captured)
        and all(cert in new["certifications"] for cert in old["certifications"])
        and new["stamp_count"] >= old["stamp_count"]
        and (old["lot"]["recalled_at"] in (None, new["lot"]["recalled_at"]))
    )


def _lot_facts(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document["lot"].items() if k != "recalled_at"}


def mark_tampered(session: Session, lot_id: int) -> None:
    """Record that the lot's data no longer matches what was anchored."""
    lot = session.get(Lot, lot_id)
    if lot is not None and lot.tampered_at is None:
        lot.tampered_at = utcnow()
        session.add(lot)
        alert_tampered(session, lot_id)
    session.commit()

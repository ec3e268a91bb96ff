"""Lot documents: the canonical JSON of a lot whose hash is its leaf, kept in versions.

Schema 2 writes a harvest's event hash ID over its ILMD and lists the EPCIS events
captured for the lot (``captured_events``, only when there are any). A lot anchored
under schema 1 keeps being checked against schema 1 until it changes; its next version
is schema 2 when the schema-1 view of the data shows nothing but additions.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from chain.canonical import canonical_json, document_hash
from trace.alerts.sources import alert_tampered
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
from trace.passport import passport_content, passport_stages
from trace.services.captured_events import document_entries
from trace.services.epcis_events import hash_id_of

DOCUMENT_SCHEMA = "agritrace/lot-document/3"
SCHEMA_1 = "agritrace/lot-document/1"
# Schema 3 adds the lot's digital product passport (trace.passport), so the lot's proof
# bundle proves it; a lot recorded under schema 2 is checked against schema 2.
SCHEMA_2 = "agritrace/lot-document/2"


def build_document(
    session: Session, lot_id: int, *, schema: str = DOCUMENT_SCHEMA
) -> dict[str, Any]:
    """The lot's document as the database has it now (JSON-ready, canonicalised on hashing).

    :param schema: :data:`SCHEMA_1` builds what a lot anchored under schema 1 is checked
        against (harvests hashed without ILMD, no captured events).
    """
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise LookupError(f"no lot {lot_id}")
    product = session.get(Product, lot.product_id)
    producer = session.get(Producer, lot.producer_id)
    assert product is not None and producer is not None
    plot = session.get(Plot, lot.plot_id) if lot.plot_id else None
    legacy = schema == SCHEMA_1
    document = {
        "schema": schema,
        "producer": _producer(producer),
        "product": {"gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en},
        "lot": _lot(lot, plot),
        "certifications": _certifications(session, producer.id),  # type: ignore[arg-type]
        "events": _event_ids(session, lot, product, producer, plot, with_ilmd=not legacy),
        "inputs": _inputs(session, lot_id),
        "stamp_root": f"0x{lot.stamp_root}" if lot.stamp_root else None,
        "stamp_count": lot.stamp_count,
    }
    captured = [] if legacy else document_entries(session, lot_id)
    if captured:  # absent rather than empty: documents of lots without any keep their hash
        document["captured_events"] = captured
    if schema == DOCUMENT_SCHEMA:
        stages = passport_stages(session, lot_id, document["events"])
        document["passport"] = passport_content(document, stages)
    return document


def _producer(producer: Producer) -> dict[str, Any]:
    return {
        "id": producer.id,
        "name": producer.name,
        "registration_number": producer.registration_number,
        "commune": producer.commune,
        "district": producer.district,
        "province": producer.province,
        "gln": producer.gln,
    }


def _lot(lot: Lot, plot: Plot | None) -> dict[str, Any]:
    return {
        "id": lot.id,
        "code": lot.code,
        "harvest_date": lot.harvest_date.isoformat(),
        "quantity": f"{lot.quantity.normalize():f}",
        "unit": lot.unit,
        "plot": None
        if plot is None
        else {"name": plot.name, "latitude": plot.latitude, "longitude": plot.longitude},
        "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
    }


def _certifications(session: Session, producer_id: int) -> list[dict[str, Any]]:
    statement = (
        select(Certification)
        .where(Certification.producer_id == producer_id)
        .order_by(col(Certification.id))
    )
    return [
        {
            "scheme": c.scheme,
            "number": c.number,
            "issuer": c.issuer,
            "valid_from": c.valid_from.isoformat(),
            "valid_to": c.valid_to.isoformat(),
            "pdf_sha256": c.pdf_sha256,
        }
        for c in session.exec(statement)
    ]


def _event_ids(
    session: Session,
    lot: Lot,
    product: Product,
    producer: Producer,
    plot: Plot | None,
    *,
    with_ilmd: bool,
) -> list[str]:
    statement = select(Event).where(Event.lot_id == lot.id).order_by(col(Event.id))
    return [
        hash_id_of(event, lot, product, producer, plot, with_ilmd=with_ilmd)
        for event in session.exec(statement)
    ]


def _inputs(session: Session, lot_id: int) -> list[dict[str, Any]]:
    statement = (
        select(Lot, Product)
        .join(LotInput, col(LotInput.input_lot_id) == Lot.id)
        .join(Product, col(Product.id) == Lot.product_id)
        .where(LotInput.output_lot_id == lot_id)
        .order_by(col(Lot.id))
    )
    return [{"gtin": p.gtin, "code": lot.code} for lot, p in session.exec(statement)]


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
    document = build_document(session, lot_id)
    digest = document_hash(document).hex()
    latest = latest_version(session, lot_id)
    if latest is not None and latest.doc_hash == digest:
        return None
    if latest is not None and not _succeeds(session, json.loads(latest.canonical_json), document):
        mark_tampered(session, lot_id)
        return None
    version = LotDocument(
        lot_id=lot_id,
        version=latest.version + 1 if latest else 1,
        canonical_json=canonical_json(document).decode(),
        doc_hash=digest,
        stamp_root=document["stamp_root"][2:] if document["stamp_root"] else None,
    )
    session.add(version)
    session.commit()
    return version


def _succeeds(session: Session, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """:func:`is_successor`, comparing a schema-1 document with the schema-1 view of the data."""
    if old.get("schema") == SCHEMA_1 and new["schema"] != SCHEMA_1:
        same_kind = build_document(session, new["lot"]["id"], schema=SCHEMA_1)
        return is_successor(old, same_kind)
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

"""The lot document's one builder: plain facts of a lot in, its canonical JSON document out.

Whoever gathers the facts (one lot at a time, or many at once for the scale seeder, in
:mod:`trace.anchoring.documents`) calls :func:`lot_document`, so every field, its order
and its format live here. The builder reads no database: the model objects it takes are
value carriers.

Schema 2 writes a harvest's event hash ID over its ILMD and lists the EPCIS events
captured for the lot (``captured_events``, only when there are any); schema 3 adds the
lot's digital product passport (:mod:`trace.passport`), so the lot's proof bundle proves
it; schema 4 counts the captured events among the passport's stages. A lot recorded
under an older schema is checked against that schema until it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain.canonical import canonical_json
from chain.hashing import keccak256
from trace.models import Certification, Event, Lot, Plot, Producer, Product
from trace.models.epcis import CapturedEvent
from trace.passport import passport_content, passport_stages
from trace.services.captured_events import utc
from trace.services.epcis_events import hash_id_of

DOCUMENT_SCHEMA = "agritrace/lot-document/4"
SCHEMA_3 = "agritrace/lot-document/3"  # passport stages without the captured events
SCHEMA_1 = "agritrace/lot-document/1"  # harvests hashed without ILMD, no captured events
SCHEMA_2 = "agritrace/lot-document/2"  # no passport


@dataclass(frozen=True)
class LotFacts:
    """What a lot document records about one lot, as read from the database.

    ``certifications`` are the producer's, by id; ``events`` the lot's, by id; ``inputs``
    the ``(gtin, code)`` of the lots it was made from, by lot id; ``captured`` the EPCIS
    events attached to it (error-declared ones too), in any order.
    """

    lot: Lot
    product: Product
    producer: Producer
    plot: Plot | None
    certifications: Sequence[Certification] = ()
    events: Sequence[Event] = ()
    inputs: Sequence[tuple[str, str]] = ()
    captured: Sequence[CapturedEvent] = ()


def lot_document(facts: LotFacts, schema: str = DOCUMENT_SCHEMA) -> dict[str, Any]:
    """The lot's document under ``schema`` (JSON-ready; canonicalised on hashing)."""
    lot, product, producer, plot = facts.lot, facts.product, facts.producer, facts.plot
    legacy = schema == SCHEMA_1
    event_ids = [
        hash_id_of(event, lot, product, producer, plot, with_ilmd=not legacy)
        for event in facts.events
    ]
    document: dict[str, Any] = {
        "schema": schema,
        "producer": _producer(producer),
        "product": {"gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en},
        "lot": _lot(lot, plot),
        "certifications": [_certification(c) for c in facts.certifications],
        "events": event_ids,
        "inputs": [{"gtin": gtin, "code": code} for gtin, code in facts.inputs],
        "stamp_root": f"0x{lot.stamp_root}" if lot.stamp_root else None,
        "stamp_count": lot.stamp_count,
    }
    if facts.captured and not legacy:  # absent rather than empty: older hashes still hold
        document["captured_events"] = captured_entries(facts.captured)
    if schema in (SCHEMA_3, DOCUMENT_SCHEMA):
        captured = facts.captured if schema == DOCUMENT_SCHEMA else ()
        stages = passport_stages(facts.events, event_ids, captured)
        document["passport"] = passport_content(document, stages)
    return document


def encoded(document: dict[str, Any]) -> tuple[str, str]:
    """The document's canonical JSON text and its hash (hex), canonicalised once.

    The hash is :func:`chain.canonical.document_hash`: keccak256 of the RFC 8785 bytes.
    """
    canonical = canonical_json(document)
    return canonical.decode(), keccak256(canonical).hex()


def stored_stamp_root(document: dict[str, Any]) -> str | None:
    """The document's stamp root as a ``lot_documents`` row stores it (hex, no ``0x``)."""
    root = document["stamp_root"]
    return str(root).removeprefix("0x") if root else None


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


def _certification(cert: Certification) -> dict[str, Any]:
    return {
        "scheme": cert.scheme,
        "number": cert.number,
        "issuer": cert.issuer,
        "valid_from": cert.valid_from.isoformat(),
        "valid_to": cert.valid_to.isoformat(),
        "pdf_sha256": cert.pdf_sha256,
    }


def captured_entries(events: Sequence[CapturedEvent]) -> list[dict[str, Any]]:
    """What the document records of each captured event, by event time then hash ID.

    That order lets an event captured later slot in without reordering the others.
    """
    entries = [
        {
            "hash_id": event.hash_id,
            "event_type": event.event_type,
            "event_time": utc(event.event_time).isoformat(),
            "biz_step": event.biz_step,
            "disposition": event.disposition,
            "biz_location": event.biz_location,
            "captured_by": event.captured_by_id,
            "captured_at": utc(event.captured_at).isoformat(),
        }
        for event in events
    ]
    return sorted(entries, key=lambda e: (e["event_time"], e["hash_id"]))

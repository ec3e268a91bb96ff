"""Serializers of the lot resource: plain data for its schemas, built from registry objects."""

from __future__ import annotations

from datetime import date
from typing import Any

from trace.anchoring import IntegrityReport
from trace.epcis import lot_uri
from trace.models import AnchorRound, Certification, Lot, LotDocument, Producer, Product
from trace.services.events import local_time
from trace.services.lot_view import LotRecord, RecordedEvent
from trace.services.recall import ReachedLot, RecallOutcome

NO_STAMPS: dict[str, Any] = {"recalled": 0, "scanned": []}


def lot_item(lot: Lot, product: Product, producer: Producer | None = None) -> dict[str, Any]:
    """A lot as a list item."""
    return {
        "id": lot.id,
        "code": lot.code,
        "gtin": product.gtin,
        "uri": lot_uri(product.gtin, lot.code),
        "product_id": product.id,
        "product_name_vi": product.name_vi,
        "product_name_en": product.name_en,
        "producer_id": lot.producer_id,
        "producer_name": producer.name if producer else "",
        "harvest_date": lot.harvest_date,
        "quantity": lot.quantity,
        "unit": lot.unit,
        "stamp_count": lot.stamp_count,
        "recalled_at": lot.recalled_at,
        "tampered_at": lot.tampered_at,
    }


def lot_detail(record: LotRecord) -> dict[str, Any]:
    """A lot with its whole record."""
    producer = record.producer
    plot = record.plot
    return lot_item(record.lot, record.product, producer) | {
        "producer": {
            key: getattr(producer, key)
            for key in (
                "id",
                "name",
                "registration_number",
                "commune",
                "district",
                "province",
                "gln",
            )
        },
        "plot": None
        if plot is None
        else {
            "name": plot.name,
            "area_ha": plot.area_ha,
            "latitude": plot.latitude,
            "longitude": plot.longitude,
        },
        "events": [event_item(e) for e in record.events],
        "certifications": [certification_item(c) for c in record.certifications],
        "anchors": [anchor_item(d, a) for d, a in record.versions],
        "inputs": [lot_item(lot, product) for lot, product in record.inputs],
        "outputs": [lot_item(lot, product) for lot, product in record.outputs],
    }


def event_item(recorded: RecordedEvent) -> dict[str, Any]:
    """An event as the API shows it."""
    event = recorded.event
    return {
        "id": event.id,
        "kind": event.kind,
        "occurred_at": local_time(event),
        "place": event.place,
        "note": event.note,
        "details": event.details,
        "recorded_by_id": event.recorded_by_id,
        "supersedes_id": event.supersedes_id,
        "superseded_by": recorded.superseded_by,
        "event_hash_id": recorded.hash_id,
    }


def certification_item(cert: Certification) -> dict[str, Any]:
    """A certification with whether it has expired today."""
    return {
        "scheme": cert.scheme,
        "ocop_stars": cert.ocop_stars,
        "number": cert.number,
        "issuer": cert.issuer,
        "valid_from": cert.valid_from,
        "valid_to": cert.valid_to,
        "expired": cert.is_expired(date.today()),
        "pdf_sha256": cert.pdf_sha256,
    }


def anchor_item(document: LotDocument, anchor: AnchorRound | None) -> dict[str, Any]:
    """A document version and where its round stands."""
    return {
        "version": document.version,
        "doc_hash": document.doc_hash,
        "stamp_root": document.stamp_root,
        "round_id": document.round_id,
        "status": anchor.status if anchor else "waiting",
        "root": anchor.root if anchor else None,
        "tx_hash": anchor.tx_hash if anchor else None,
        "block_number": anchor.block_number if anchor else None,
        "chain_id": anchor.chain_id if anchor else None,
        "contract_address": anchor.contract_address if anchor else None,
        "lot_proof": document.lot_proof,
    }


def integrity_item(report: IntegrityReport) -> dict[str, Any]:
    """An integrity report as plain data."""
    return dict(report.__dict__)


def recall_item(outcome: RecallOutcome) -> dict[str, Any]:
    """A recall outcome; stamps come from the stamps package's recall hook."""
    return {
        "lot_id": outcome.lot.id,
        "reason": outcome.reason,
        "recalled_at": outcome.lot.recalled_at,
        "already_recalled": outcome.already_recalled,
        "event_id": outcome.event.id if outcome.event else None,
        "delisting_queued": outcome.delisting_queued,
        "stamps": outcome.sections.get("stamps", NO_STAMPS),
        "affected_lots": [lot_item(*row) for row in outcome.affected_lots],
        "lots": [reached_item(reached) for reached in outcome.reached],
        "input_lots": [lot_item(*row) for row in outcome.input_lots],
    }


def reached_item(reached: ReachedLot) -> dict[str, Any]:
    """A lot a recall reached, with how many of its stamps are recalled."""
    stamps = reached.sections.get("stamps", NO_STAMPS)
    return lot_item(reached.lot, reached.product, reached.producer) | {
        "recalled_now": reached.recalled_now,
        "recall_origin_lot_id": reached.lot.recall_origin_lot_id,
        "recall_reason": reached.lot.recall_reason,
        "stamps_recalled": stamps["recalled"],
    }

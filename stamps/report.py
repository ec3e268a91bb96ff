"""The scan report: everything a consumer or client sees for a scanned stamp, as plain data."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from stamps.identity import format_serial, stamp_uri
from stamps.scanning import StampFacts, Verdict, flags_of, verdict_of
from trace.anchoring import anchored_version
from trace.models import Certification, Lot
from trace.services import events as event_service


def scan_report(session: Session, facts: StampFacts, base_url: str, today: date) -> dict[str, Any]:
    """A JSON-ready description of the stamp, its lot and its verdict."""
    stamp, lot, product, producer = facts.stamp, facts.lot, facts.product, facts.producer
    entries = event_service.timeline(session, lot.id)  # type: ignore[arg-type]
    return {
        "verdict": str(verdict_of(facts)),
        "uri": stamp_uri(base_url, product.gtin, lot.code, stamp.serial),
        "serial": stamp.serial,
        "serial_display": format_serial(stamp.serial),
        "status": stamp.status,
        "product": {"gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en},
        "producer": {
            "name": producer.name,
            "commune": producer.commune,
            "district": producer.district,
            "province": producer.province,
        },
        "lot": {
            "code": lot.code,
            "harvest_date": lot.harvest_date.isoformat(),
            "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
        },
        "plot": _plot(facts),
        "certifications": _certifications(session, producer.id, today),  # type: ignore[arg-type]
        "events": [_event(e) for e in event_service.current_events(entries)],
        "anchoring": _with_proof_link(anchoring_status(session, lot), base_url, stamp.serial),
        "scans": {
            "count": stamp.scan_count,
            "first_at": stamp.first_scan_at.isoformat() if stamp.first_scan_at else None,
            "first_province": stamp.first_scan_province,
        },
        # Flags set ``stamp.flagged``: an unflagged stamp needs no query.
        "flags": [flag.rule for flag in flags_of(session, stamp.id)] if stamp.flagged else [],  # type: ignore[arg-type]
    }


def not_found_report() -> dict[str, Any]:
    """What a scan of an unknown stamp reports."""
    return {"verdict": str(Verdict.NOT_FOUND)}


def _plot(facts: StampFacts) -> dict[str, Any] | None:
    if facts.plot is None:
        return None
    plot = facts.plot
    return {
        "name": plot.name,
        "latitude": plot.latitude,
        "longitude": plot.longitude,
        "area_ha": plot.area_ha,
    }


def _certifications(session: Session, producer_id: int, today: date) -> list[dict[str, Any]]:
    statement = select(Certification).where(Certification.producer_id == producer_id)
    return [
        {
            "scheme": cert.scheme,
            "ocop_stars": cert.ocop_stars,
            "number": cert.number,
            "issuer": cert.issuer,
            "valid_to": cert.valid_to.isoformat(),
            "status": "expired" if cert.is_expired(today) else "valid",
        }
        for cert in session.exec(statement.order_by(col(Certification.valid_to).desc()))
    ]


def _event(event: Any) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "time": event_service.local_time(event).isoformat(),
        "place": event.place,
        "details": {k: v for k, v in event.details.items() if k != "input_lots"},
    }


def _with_proof_link(status: dict[str, Any], base_url: str, serial: str) -> dict[str, Any]:
    """Add where an anchored stamp's proof bundle can be downloaded by anyone."""
    if status["status"] == "anchored":
        return {**status, "proof": proof_url(base_url, serial)}
    return status


def proof_url(base_url: str, serial: str) -> str:
    """The public download address of a stamp's proof bundle."""
    return f"{base_url}/proofs/{serial}.json"


def anchoring_status(session: Session, lot: Lot) -> dict[str, Any]:
    """``tampered``, else the newest anchored document version of a lot, else ``pending``."""
    if lot.tampered_at is not None:
        return {"status": "tampered", "since": lot.tampered_at.isoformat()}
    row = anchored_version(session, lot.id)  # type: ignore[arg-type]
    if row is None:
        return {"status": "pending"}
    document, anchor = row
    return {
        "status": "anchored",
        "version": document.version,
        "block": anchor.block_number,
        "transaction": anchor.tx_hash,
        "time": anchor.block_time.isoformat() if anchor.block_time else None,
        "chain_id": anchor.chain_id,
    }

"""What raises alerts: a recall (a hook), tampering, a clone flag, an expired certificate,
an anchoring round that keeps failing. Each runs in its caller's transaction unless it
says it commits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from trace.alerts.service import AlertKind, record_alert
from trace.models import AnchorRound, Certification, Lot, Producer, Product

#: A certificate that expired longer ago than this raises no alert (nor floods the feed
#: with history the first time the check runs).
CERTIFICATION_LOOKBACK = timedelta(days=30)


def _lot_params(session: Session, lot_id: int) -> tuple[Lot, dict[str, Any]] | None:
    row = session.exec(
        select(Lot, Product)
        .join(Product, col(Product.id) == Lot.product_id)
        .where(Lot.id == lot_id)
    ).first()
    if row is None:
        return None
    lot, product = row
    return lot, {"lot": lot.code, "product": product.name_en}


def alert_recalled(session: Session, lot_id: int) -> Mapping[str, Any]:
    """Recall hook: one ``recall`` alert per recalled lot (a repeat recall adds none)."""
    found = _lot_params(session, lot_id)
    if found is None or found[0].recalled_at is None:
        return {}
    lot, params = found
    details = {"origin_lot_id": lot.recall_origin_lot_id} if lot.recall_origin_lot_id else {}
    record_alert(
        session,
        AlertKind.RECALL,
        params | {"reason": lot.recall_reason or ""},
        lot_id=lot_id,
        details=details,
        dedupe_key=f"recall:lot:{lot_id}",
    )
    return {}


def alert_tampered(session: Session, lot_id: int) -> None:
    """A lot was found tampered: one ``tamper_detected`` alert per lot."""
    found = _lot_params(session, lot_id)
    if found is not None:
        record_alert(
            session,
            AlertKind.TAMPER_DETECTED,
            found[1],
            lot_id=lot_id,
            dedupe_key=f"tamper:lot:{lot_id}",
        )


def alert_flag_raised(
    session: Session, lot_id: int, stamp_id: int, serial: str, rule: str, detail: Mapping[str, Any]
) -> None:
    """A clone rule flagged a stamp: one ``flag_raised`` alert per stamp and rule."""
    found = _lot_params(session, lot_id)
    if found is not None:
        record_alert(
            session,
            AlertKind.FLAG_RAISED,
            found[1] | {"serial": serial, "rule": str(rule)},
            lot_id=lot_id,
            details={"serial": serial, "rule": str(rule), "detail": dict(detail)},
            dedupe_key=f"flag:stamp:{stamp_id}:{rule}",
        )


def alert_round_failing(
    session: Session, anchor: AnchorRound, error: Exception, after_attempts: int
) -> None:
    """A round failed again: from ``after_attempts`` failed sends on, one alert (commits)."""
    if anchor.attempts < after_attempts:
        return
    record_alert(
        session,
        AlertKind.ANCHORING_FAILING,
        {"round": anchor.id, "attempts": anchor.attempts, "error": str(error)[:200]},
        details={"round_id": anchor.id},
        dedupe_key=f"round:{anchor.id}",
    )
    session.commit()


def alert_expired_certifications(session: Session, today: date) -> int:
    """One ``certification_expired`` alert per certificate expired in the last 30 days
    (commits). :returns: how many alerts were recorded."""
    statement = (
        select(Certification, Producer)
        .join(Producer, col(Producer.id) == Certification.producer_id)
        .where(col(Certification.valid_to) < today)
        .where(col(Certification.valid_to) >= today - CERTIFICATION_LOOKBACK)
        .order_by(col(Certification.id))
    )
    recorded = 0
    for cert, producer in session.exec(statement).all():
        params = {
            "number": cert.number,
            "scheme": cert.scheme,
            "producer": producer.name,
            "date": cert.valid_to.isoformat(),
        }
        alert = record_alert(
            session,
            AlertKind.CERTIFICATION_EXPIRED,
            params,
            producer_id=producer.id,
            details={"certification_id": cert.id},
            dedupe_key=f"certification:{cert.id}:{cert.valid_to.isoformat()}",
        )
        recorded += alert is not None
    session.commit()
    return recorded

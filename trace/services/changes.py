"""Changes that need a new anchored lot document, queued in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from trace import jobs
from trace.models import Lot

JOB_DOCUMENT = "anchoring.document"


def mark_lot_changed(session: OrmSession, lot_id: int) -> None:
    """Queue a new document version for the lot (anchored in the next round)."""
    jobs.enqueue(session, JOB_DOCUMENT, {"lot_id": lot_id}, dedupe_key=f"lotdoc:{lot_id}")  # type: ignore[arg-type]


def mark_producer_changed(session: Session, producer_id: int) -> None:
    """Queue new document versions for every lot of a producer (e.g. a new certification)."""
    for lot_id in session.exec(select(Lot.id).where(Lot.producer_id == producer_id)):
        mark_lot_changed(session, lot_id)  # type: ignore[arg-type]

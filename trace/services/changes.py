"""Changes that need a new anchored lot document, queued in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, or_, select

from trace import jobs
from trace.models import Job, Lot

JOB_DOCUMENT = "anchoring.document"


def _document_key(lot_id: int) -> str:
    return f"lotdoc:{lot_id}"


def mark_lot_changed(session: OrmSession, lot_id: int) -> None:
    """Queue a new document version for the lot (anchored in the next round).

    A refresh already running may have read the lot before this change: another is
    queued behind it (:func:`trace.jobs.enqueue`'s ``again_if_running``).
    """
    jobs.enqueue(
        session,  # type: ignore[arg-type]
        JOB_DOCUMENT,
        {"lot_id": lot_id},
        dedupe_key=_document_key(lot_id),
        again_if_running=True,
    )


def change_queued(session: Session, lot_id: int) -> bool:
    """Whether a new document version of the lot is queued or being written."""
    key = _document_key(lot_id)
    statement = select(func.count()).where(
        or_(col(Job.dedupe_key) == key, col(Job.dedupe_key).startswith(key + jobs.RUNNING_KEY)),
        col(Job.status).in_([jobs.QUEUED, jobs.RUNNING]),
    )
    return bool(session.exec(statement).one())


def mark_producer_changed(session: Session, producer_id: int) -> None:
    """Queue new document versions for every lot of a producer (e.g. a new certification)."""
    for lot_id in session.exec(select(Lot.id).where(Lot.producer_id == producer_id)):
        mark_lot_changed(session, lot_id)  # type: ignore[arg-type]

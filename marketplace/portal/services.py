"""What producers and admins do with the portal: opt in or out, push now, read the history.

Every change writes its push job in the same transaction (the outbox).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from marketplace.portal.models import PortalEnrolment, PortalPush, PortalRecord
from trace import jobs
from trace.errors import NotFound
from trace.models import Lot, Producer, Role
from trace.models.base import utcnow
from trace.services.access import Actor, producer_for_change, visible_producer

JOB_SYNC_PRODUCER = "portal.sync_producer"
JOB_PUSH_LOT = "portal.push_lot"
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class PortalOverview:
    """One producer's standing with the portal, for the admin."""

    producer: Producer
    enabled: bool
    states: dict[str, int]
    last_push: PortalPush | None


def set_enrolment(
    session: Session, actor: Actor, enabled: bool, producer_id: int | None = None
) -> PortalEnrolment:
    """Opt a producer in to (or out of) the national portal; opting in queues a full push.

    A farmer changes their own producer; an admin any producer (``producer_id``).

    :raises NotFound: an unknown producer, or the actor may not change it.
    :raises Conflict: a farmer whose producer is not approved.
    """
    if actor.role == Role.ADMIN and producer_id is not None:
        producer = visible_producer(session, actor, producer_id)
    elif actor.role == Role.FARMER:
        producer = producer_for_change(session, actor)
    else:
        raise NotFound()
    enrolment = session.get(PortalEnrolment, producer.id) or PortalEnrolment(
        producer_id=producer.id  # type: ignore[arg-type]
    )
    enrolment.enabled, enrolment.changed_by_id = enabled, actor.user_id
    enrolment.updated_at = utcnow()
    session.add(enrolment)
    if enabled:
        queue_producer(session, enrolment.producer_id)
    session.commit()
    return enrolment


def queue_producer(session: Session, producer_id: int) -> bool:
    """Queue a push of everything of the producer's the portal lacks (caller commits).

    :returns: False when a push of the producer was already waiting.
    """
    payload = {"producer_id": producer_id}
    key = f"portal:{producer_id}"
    return jobs.enqueue(session, JOB_SYNC_PRODUCER, payload, dedupe_key=key) is not None


def push_now(session: Session, actor: Actor, producer_id: int) -> None:
    """The admin's "push now": queue a push of the producer, failed records included.

    :raises NotFound: not an admin, or an unknown producer.
    """
    if actor.role != Role.ADMIN:
        raise NotFound()
    visible_producer(session, actor, producer_id)
    for record in session.exec(select(PortalRecord).where(PortalRecord.producer_id == producer_id)):
        record.attempts = 0
        session.add(record)
    queue_producer(session, producer_id)
    session.commit()


def recall_hook(session: Session, lot_id: int) -> dict[str, Any]:
    """Recall hook: an opted-in producer's recall is pushed at once (in the recall's
    transaction, through the outbox)."""
    lot = session.get(Lot, lot_id)
    enrolment = session.get(PortalEnrolment, lot.producer_id) if lot else None
    if lot is None or enrolment is None or not enrolment.enabled:
        return {}
    payload = {"producer_id": lot.producer_id, "lot_id": lot_id}
    jobs.enqueue(session, JOB_PUSH_LOT, payload, dedupe_key=f"portal-lot:{lot_id}")
    return {}


def queue_enrolled(session: Session) -> int:
    """Queue a push of every opted-in producer (the periodic reconciliation).

    :returns: how many producers were queued (those already waiting are not counted).
    """
    ids = session.exec(select(PortalEnrolment.producer_id).where(col(PortalEnrolment.enabled)))
    queued = sum(queue_producer(session, producer_id) for producer_id in ids)
    session.commit()
    return queued


def enrolment_of(session: Session, producer_id: int) -> PortalEnrolment | None:
    """The producer's enrolment, if they ever chose."""
    return session.get(PortalEnrolment, producer_id)


def overview(session: Session, actor: Actor) -> list[PortalOverview]:
    """Every producer that ever opted in, with record counts by state and the last push.

    :raises NotFound: the actor is not an admin.
    """
    if actor.role != Role.ADMIN:
        raise NotFound()
    rows = session.exec(
        select(PortalEnrolment, Producer)
        .join(Producer, col(Producer.id) == PortalEnrolment.producer_id)
        .order_by(col(Producer.name))
    ).all()
    counts: dict[int, Counter[str]] = {}
    for producer_id, state, count in session.exec(
        select(PortalRecord.producer_id, PortalRecord.state, func.count()).group_by(
            col(PortalRecord.producer_id), col(PortalRecord.state)
        )
    ):
        counts.setdefault(producer_id, Counter())[state] = count
    return [
        PortalOverview(producer, enrolment.enabled, dict(counts.get(producer.id, {})),  # type: ignore[arg-type]
                       _last_push(session, producer.id))  # type: ignore[arg-type]
        for enrolment, producer in rows
    ]  # fmt: skip


def _last_push(session: Session, producer_id: int) -> PortalPush | None:
    statement = select(PortalPush).where(PortalPush.producer_id == producer_id)
    return session.exec(statement.order_by(col(PortalPush.id).desc())).first()


def history(
    session: Session, actor: Actor, producer_id: int
) -> tuple[Producer, list[PortalRecord], list[PortalPush]]:
    """A producer's records on the portal and the latest requests with the portal's answers.

    :raises NotFound: the actor is not an admin, or an unknown producer.
    """
    if actor.role != Role.ADMIN:
        raise NotFound()
    producer = visible_producer(session, actor, producer_id)
    records = session.exec(
        select(PortalRecord)
        .where(PortalRecord.producer_id == producer_id)
        .order_by(col(PortalRecord.kind), col(PortalRecord.local_id))
    ).all()
    pushes = session.exec(
        select(PortalPush)
        .where(PortalPush.producer_id == producer_id)
        .order_by(col(PortalPush.id).desc())
        .limit(HISTORY_LIMIT)
    ).all()
    return producer, list(records), list(pushes)

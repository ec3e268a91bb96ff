"""Recalling a lot: one transaction that marks the lot, fans out to hooks and queues delisting.

Packages that hold things made from a lot (stamps) take part through recall hooks, which
run inside the recall's transaction; ``trace`` never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, select

from trace import jobs
from trace.errors import Forbidden, NotFound
from trace.i18n import _l
from trace.models import Event, Lot, LotInput, Producer, Product, Role
from trace.services.access import Actor
from trace.services.changes import mark_lot_changed
from trace.services.checks import Checks
from trace.services.events import to_utc_columns

RECALL_KIND = "recall"
JOB_DELIST = "marketplace.delist"
MAX_AFFECTED = 10_000
#: Runs in the recall's transaction with the lot id; returns sections for the outcome.
RecallHook = Callable[[Session, int], Mapping[str, Any]]


def recall_hooks(app: Flask) -> list[RecallHook]:
    """The app's recall hooks (packages append theirs in ``init_app``)."""
    hooks: list[RecallHook] = app.extensions.setdefault("recall_hooks", [])
    return hooks


def register_recall_hook(app: Flask, hook: RecallHook) -> None:
    """Have ``hook`` run inside every recall of this app (registering twice is harmless)."""
    if hook not in recall_hooks(app):
        recall_hooks(app).append(hook)


@dataclass(frozen=True)
class RecallOutcome:
    """What a recall did (or, on a repeat, what the first recall did)."""

    lot: Lot
    reason: str
    already_recalled: bool
    event: Event | None
    delisting_queued: bool
    sections: dict[str, Any] = field(default_factory=dict)
    affected_lots: list[tuple[Lot, Product, Producer]] = field(default_factory=list)


def recall_lot(
    session: Session,
    actor: Actor,
    lot_id: int,
    reason: str,
    hooks: list[RecallHook],
    when: datetime | None = None,
) -> RecallOutcome:
    """Recall a lot; idempotent: repeating it changes nothing and reports the first recall.

    In one transaction: ``lot.recalled_at`` is set, a ``recall`` event is recorded by the
    actor, the hooks run (stamps become RECALLED), a new lot document version is queued
    and a ``marketplace.delist`` job is queued for the lot's product.

    :raises Forbidden: the actor is not an inspector or administrator.
    :raises NotFound: unknown lot.
    :raises ValidationError: a reason shorter than 3 or longer than 500 characters.
    """
    if actor.role not in (Role.INSPECTOR, Role.ADMIN):
        raise Forbidden(_l("Only inspectors recall lots."))
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound()
    checks = Checks()
    text = checks.text("reason", reason, 500)
    if text and len(text) < 3:
        checks.fail("reason", _l("Say why the lot is recalled."))
    checks.done()
    when = when or datetime.now(UTC)
    try:
        first = _mark_recalled(session, lot_id, when)
        event = (
            _record_event(session, actor, lot, text, when)
            if first
            else _recall_event(session, lot_id)
        )
        if first:
            mark_lot_changed(session, lot_id)
            payload = {"product_id": lot.product_id, "lot_id": lot_id, "reason": text}
            jobs.enqueue(session, JOB_DELIST, payload, dedupe_key=f"delist:{lot_id}")
        sections: dict[str, Any] = {}
        for hook in hooks:
            sections.update(hook(session, lot_id))
        affected = downstream_lots(session, lot_id)
        session.commit()
    except Exception:
        session.rollback()  # all or nothing: no lot, stamp, event or job half-recalled
        raise
    session.refresh(lot)
    first_reason = text if first or event is None else str(event.details.get("reason", ""))
    return RecallOutcome(lot, first_reason, not first, event, True, sections, affected)


def _mark_recalled(session: Session, lot_id: int, when: datetime) -> bool:
    """Set ``recalled_at`` unless set; the conditional update makes concurrent recalls safe."""
    result = session.execute(
        update(Lot)
        .where(col(Lot.id) == lot_id, col(Lot.recalled_at).is_(None))
        .values(recalled_at=when.astimezone(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _record_event(session: Session, actor: Actor, lot: Lot, reason: str, when: datetime) -> Event:
    occurred_at, offset = to_utc_columns(when)
    event = Event(
        lot_id=lot.id,  # type: ignore[arg-type]
        producer_id=lot.producer_id,
        kind=RECALL_KIND,
        occurred_at=occurred_at,
        tz_offset_minutes=offset,
        place="",
        recorded_by_id=actor.user_id,
        details={"reason": reason},
    )
    session.add(event)
    session.flush()
    return event


def _recall_event(session: Session, lot_id: int) -> Event | None:
    statement = select(Event).where(Event.lot_id == lot_id, Event.kind == RECALL_KIND)
    return session.exec(statement.order_by(col(Event.id))).first()


def downstream_lots(session: Session, lot_id: int) -> list[tuple[Lot, Product, Producer]]:
    """Every lot made from ``lot_id`` by transformation, at any depth, nearest first."""
    seen: dict[int, None] = {}
    frontier = [lot_id]
    while frontier and len(seen) < MAX_AFFECTED:
        statement = select(LotInput.output_lot_id).where(col(LotInput.input_lot_id).in_(frontier))
        found = [i for i in session.exec(statement) if i not in seen and i != lot_id]
        seen.update(dict.fromkeys(found))
        frontier = found
    if not seen:
        return []
    statement = (
        select(Lot, Product, Producer)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .where(col(Lot.id).in_(list(seen)))
    )
    order = {lot_id: i for i, lot_id in enumerate(seen)}
    rows = [(lot, product, producer) for lot, product, producer in session.exec(statement)]
    return sorted(rows, key=lambda row: order[row[0].id])  # type: ignore[index]

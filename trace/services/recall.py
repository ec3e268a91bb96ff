"""Recalling a lot: one transaction that marks the lot, fans out to hooks and queues delisting.

Packages that hold things made from a lot (stamps) take part through recall hooks, which
run inside the recall's transaction; the marketplace takes recalled lots off sale through
the delister it offers (:mod:`trace.extensions`). ``trace`` never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, select

from trace.errors import Forbidden, NotFound
from trace.extensions import Delister
from trace.i18n import _l
from trace.models import Event, Lot, LotInput, Producer, Product, Role
from trace.services.access import Actor
from trace.services.changes import mark_lot_changed
from trace.services.checks import Checks
from trace.services.events import to_utc_columns

RECALL_KIND = "recall"
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
class ReachedLot:
    """A lot a recall reached: the recalled lot itself, or one made from it."""

    lot: Lot
    product: Product
    producer: Producer
    recalled_now: bool  # this request recalled it (False: an earlier recall did)
    sections: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecallOutcome:
    """What a recall did (or, on a repeat, what the first recall did)."""

    lot: Lot
    reason: str
    already_recalled: bool
    event: Event | None
    delisting_queued: bool  # this request queued delisting (False on a repeat)
    sections: dict[str, Any] = field(default_factory=dict)
    affected_lots: list[tuple[Lot, Product, Producer]] = field(default_factory=list)
    reached: list[ReachedLot] = field(default_factory=list)  # the lot first, then downstream
    input_lots: list[tuple[Lot, Product, Producer]] = field(default_factory=list)


def recall_lot(
    session: Session,
    actor: Actor,
    lot_id: int,
    reason: str,
    hooks: list[RecallHook],
    when: datetime | None = None,
    delist: Delister | None = None,
) -> RecallOutcome:
    """Recall a lot and every lot made from it; idempotent: a repeat changes nothing.

    In one transaction, for the lot and each lot made from it by transformation (at any
    depth) not already recalled: ``recalled_at`` and the reason are set (downstream lots
    also name this lot as their recall's origin), a ``recall`` event is recorded by the
    actor, a new lot document version is queued and ``delist`` (the registered
    :class:`~trace.extensions.Delister`) takes its product off sale. The hooks run for
    every lot reached (stamps become RECALLED). The lot's inputs are listed, never recalled.

    :raises Forbidden: the actor is not an inspector or administrator.
    :raises NotFound: unknown lot.
    :raises ValidationError: a reason shorter than 3 or longer than 500 characters.
    """
    if actor.role not in (Role.INSPECTOR, Role.ADMIN):
        raise Forbidden(_l("Only inspectors recall lots."))
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound()
    text = _checked_reason(reason)
    when = when or datetime.now(UTC)
    try:
        outcome = _recall(session, actor, lot, text, hooks, when, delist)
        session.commit()
    except Exception:
        session.rollback()  # all or nothing: no lot, stamp, event or job half-recalled
        raise
    session.refresh(lot)
    return outcome


def _checked_reason(reason: str) -> str:
    checks = Checks()
    text = checks.text("reason", reason, 500)
    if text and len(text) < 3:
        checks.fail("reason", _l("Say why the lot is recalled."))
    checks.done()
    return text or ""


def _recall(
    session: Session,
    actor: Actor,
    lot: Lot,
    text: str,
    hooks: list[RecallHook],
    when: datetime,
    delist: Delister | None,
) -> RecallOutcome:
    lot_id: int = lot.id  # type: ignore[assignment]
    first = bool(_mark_recalled(session, [lot_id], when, text, None))
    downstream_ids = _walk(session, lot_id, forward=True)
    now = set(_mark_recalled(session, downstream_ids, when, text, lot_id))
    now |= {lot_id} if first else set()
    rows = _lot_rows(session, [lot_id, *downstream_ids])
    for reached_lot, _, _ in rows:
        if reached_lot.id in now:
            origin = None if reached_lot.id == lot_id else lot
            _record_event(session, actor, reached_lot, text, when, origin)
            _queue_consequences(session, reached_lot, text, delist)
    event = _recall_event(session, lot_id)
    reached = [_reached(session, hooks, row, row[0].id in now) for row in rows]
    first_reason = text if first or event is None else str(event.details.get("reason", ""))
    return RecallOutcome(
        lot,
        first_reason,
        not first,
        event,
        bool(now),
        reached[0].sections,
        rows[1:],
        reached,
        _lot_rows(session, _walk(session, lot_id, forward=False)),
    )


def _reached(
    session: Session, hooks: list[RecallHook], row: tuple[Lot, Product, Producer], now: bool
) -> ReachedLot:
    sections: dict[str, Any] = {}
    for hook in hooks:
        sections.update(hook(session, row[0].id))  # type: ignore[arg-type]
    return ReachedLot(*row, recalled_now=now, sections=sections)


def _mark_recalled(
    session: Session, lot_ids: list[int], when: datetime, reason: str, origin: int | None
) -> list[int]:
    """Recall the lots not yet recalled; the conditional update makes concurrent recalls safe.

    :returns: the ids of the lots this call recalled.
    """
    if not lot_ids:
        return []
    statement = (
        update(Lot)
        .where(col(Lot.id).in_(lot_ids), col(Lot.recalled_at).is_(None))
        .values(recalled_at=when.astimezone(UTC), recall_reason=reason, recall_origin_lot_id=origin)
        .returning(col(Lot.id))
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars())


def _queue_consequences(session: Session, lot: Lot, reason: str, delist: Delister | None) -> None:
    """A new document version to anchor and the lot's listings off sale."""
    mark_lot_changed(session, lot.id)  # type: ignore[arg-type]
    if delist is not None:
        delist(session, lot, reason)


def _record_event(
    session: Session, actor: Actor, lot: Lot, reason: str, when: datetime, origin: Lot | None
) -> Event:
    occurred_at, offset = to_utc_columns(when)
    details: dict[str, Any] = {"reason": reason}
    if origin is not None:
        details |= {"origin_lot_id": origin.id, "origin_lot_code": origin.code}
    event = Event(
        lot_id=lot.id,  # type: ignore[arg-type]
        producer_id=lot.producer_id,
        kind=RECALL_KIND,
        occurred_at=occurred_at,
        tz_offset_minutes=offset,
        place="",
        recorded_by_id=actor.user_id,
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def _recall_event(session: Session, lot_id: int) -> Event | None:
    statement = select(Event).where(Event.lot_id == lot_id, Event.kind == RECALL_KIND)
    return session.exec(statement.order_by(col(Event.id))).first()


def _walk(session: Session, lot_id: int, forward: bool) -> list[int]:
    """Lot ids one transformation step away, repeated: nearest first, each once."""
    there, here = (
        (LotInput.output_lot_id, LotInput.input_lot_id)
        if forward
        else (LotInput.input_lot_id, LotInput.output_lot_id)
    )
    seen: dict[int, None] = {}
    frontier = [lot_id]
    while frontier and len(seen) < MAX_AFFECTED:
        statement = select(there).where(col(here).in_(frontier)).order_by(col(there))
        found = list(dict.fromkeys(i for i in session.exec(statement) if i not in seen))
        found = [i for i in found if i != lot_id]
        seen.update(dict.fromkeys(found))
        frontier = found
    return list(seen)


def _lot_rows(session: Session, lot_ids: list[int]) -> list[tuple[Lot, Product, Producer]]:
    """The lots with their product and producer, in the order of ``lot_ids``, read afresh."""
    if not lot_ids:
        return []
    statement = (
        select(Lot, Product, Producer)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .where(col(Lot.id).in_(lot_ids))
        .execution_options(populate_existing=True)
    )
    order = {lot_id: i for i, lot_id in enumerate(lot_ids)}
    rows = [(lot, product, producer) for lot, product, producer in session.exec(statement)]
    return sorted(rows, key=lambda row: order[row[0].id])  # type: ignore[index]

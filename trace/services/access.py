"""Who is acting, and which producer's data they may see or change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from trace.errors import Conflict, NotFound
from trace.i18n import _l
from trace.models import Producer, ProducerStatus, Role

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a user with a role, possibly tied to one producer."""

    user_id: int
    role: Role
    producer_id: int | None = None

    def can_see(self, producer_id: int) -> bool:
        """Admins and inspectors see every producer; a farmer only their own."""
        return self.role in (Role.ADMIN, Role.INSPECTOR) or self.producer_id == producer_id

    def require_see(self, producer_id: int) -> None:
        """Raise ``NotFound`` (never ``Forbidden``) so other producers' ids stay unknown."""
        if not self.can_see(producer_id):
            raise NotFound()


def producer_for_change(session: Session, actor: Actor) -> Producer:
    """The actor's own producer, when it is approved and so may record data.

    :raises NotFound: the actor is not a farmer with a producer.
    :raises Conflict: the producer awaits approval or is suspended.
    """
    if actor.role != Role.FARMER or actor.producer_id is None:
        raise NotFound()
    producer = session.get(Producer, actor.producer_id)
    if producer is None:
        raise NotFound()
    if producer.status == ProducerStatus.PENDING:
        raise Conflict(_l("Your producer is awaiting approval by an administrator."))
    if producer.status == ProducerStatus.SUSPENDED:
        raise Conflict(_l("Your producer is suspended. Contact the administrator."))
    return producer


def owned(session: Session, actor: Actor, model: type[T], object_id: int) -> T:
    """Load a producer-owned ``model`` by id if the actor may see it, else ``NotFound``."""
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound()
    actor.require_see(obj.producer_id)  # type: ignore[attr-defined]
    return obj


def visible_producer(session: Session, actor: Actor, producer_id: int) -> Producer:
    """Load a producer the actor may see, else ``NotFound``."""
    producer = session.get(Producer, producer_id)
    if producer is None:
        raise NotFound()
    actor.require_see(producer.id)  # type: ignore[arg-type]
    return producer

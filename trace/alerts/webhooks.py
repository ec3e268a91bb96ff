"""Webhook subscriptions admins register, and the signed delivery of each alert to them.

A delivery row and its outbox job are written in the alert's transaction; the job posts
the alert (JSON, signed, see :mod:`trace.alerts.signing`) and is retried with the outbox's
backoff until the receiver answers 2xx or the attempts run out.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from trace import jobs
from trace.alerts import transport
from trace.alerts.service import AlertKind, alert_message
from trace.errors import Forbidden, NotFound
from trace.i18n import _l
from trace.models import Alert, Role, WebhookDelivery, WebhookSubscription
from trace.models.base import utcnow
from trace.services.access import Actor
from trace.services.checks import Checks

JOB_DELIVER = "alerts.webhook_delivery"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SECRET_PREFIX = "whsec_"
MIN_SECRET = 16


@dataclass(frozen=True)
class NewSubscription:
    """A subscription just registered, with its secret (shown this once)."""

    subscription: WebhookSubscription
    secret: str


def _require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("Only administrators manage webhook subscriptions."))


def create_subscription(
    session: Session,
    actor: Actor,
    url: str,
    kinds: Iterable[str],
    secret: str | None,
    allow_private: bool,
) -> NewSubscription:
    """Register ``url`` for alerts of ``kinds`` (all kinds when empty).

    :param secret: the signing secret; None makes one.
    :param allow_private: accept loopback and private addresses (never in production
        unless configured).
    :raises Forbidden: the actor is not an administrator.
    :raises ValidationError: a URL that is not http(s) or names a refused address, an
        unknown kind, a secret shorter than 16 characters.
    """
    _require_admin(actor)
    checks = Checks()
    problem = target_problem(url, allow_private)
    if problem:
        checks.fail("url", problem)
    chosen = sorted({str(k) for k in kinds}) or sorted(AlertKind)
    if any(k not in set(AlertKind) for k in chosen):
        checks.fail("kinds", _l("Unknown alert kind."))
    if secret is not None and not MIN_SECRET <= len(secret) <= 200:
        checks.fail("secret", _l("A secret has 16 to 200 characters."))
    checks.done()
    secret = secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        url=url, kinds=",".join(chosen), secret=secret, created_by_id=actor.user_id
    )
    session.add(subscription)
    session.commit()
    return NewSubscription(subscription, secret)


def list_subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    """Every subscription, newest first. :raises Forbidden: not an administrator."""
    _require_admin(actor)
    statement = select(WebhookSubscription).order_by(col(WebhookSubscription.id).desc())
    return list(session.exec(statement))


def disable_subscription(session: Session, actor: Actor, subscription_id: int) -> None:
    """Stop delivering to a subscription (its deliveries stay visible).

    :raises Forbidden: not an administrator. :raises NotFound: unknown subscription.
    """
    subscription = get_subscription(session, actor, subscription_id)
    if subscription.disabled_at is None:
        subscription.disabled_at = utcnow()
        session.add(subscription)
        session.commit()


def get_subscription(session: Session, actor: Actor, subscription_id: int) -> WebhookSubscription:
    """:raises Forbidden: not an administrator. :raises NotFound: unknown subscription."""
    _require_admin(actor)
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound()
    return subscription


def deliveries_of(session: Session, subscription_id: int) -> Any:
    """A statement of the subscription's deliveries with their alert, newest first."""
    return (
        select(WebhookDelivery, Alert)
        .join(Alert, col(Alert.id) == WebhookDelivery.alert_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(col(WebhookDelivery.id).desc())
    )


def target_problem(url: str, allow_private: bool) -> Any:
    """Why ``url`` may not receive deliveries, or None.

    Only http(s). Unless ``allow_private``, every address the host resolves to must be
    public: loopback, private, link-local (cloud metadata) and reserved ones are refused.
    Each delivery checks again, and connects to the address it checked
    (:mod:`trace.alerts.transport`).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _l("Give an http:// or https:// URL.")
    if allow_private:
        return None
    try:
        transport.resolve(url, allow_private=False)
    except transport.TargetRefused as refused:
        return refused.args[0]
    return None


def queue_deliveries(session: Session, alert: Alert) -> int:
    """A delivery and its job for every active subscription to the alert's kind (in the
    caller's transaction). :returns: how many were queued."""
    statement = select(WebhookSubscription).where(col(WebhookSubscription.disabled_at).is_(None))
    queued = 0
    for subscription in session.exec(statement).all():
        if alert.kind not in subscription.kind_set:
            continue
        delivery = WebhookDelivery(subscription_id=subscription.id, alert_id=alert.id)  # type: ignore[arg-type]
        session.add(delivery)
        session.flush()
        payload = {"delivery_id": delivery.id}
        jobs.enqueue(session, JOB_DELIVER, payload, dedupe_key=f"webhook:{delivery.id}")
        queued += 1
    return queued


def alert_body(alert: Alert) -> bytes:
    """The JSON a receiver gets: the alert, its message in English and Vietnamese."""
    document = {
        "id": alert.id,
        "kind": alert.kind,
        "message": alert_message(alert, "en"),
        "message_vi": alert_message(alert, "vi"),
        "lot_id": alert.lot_id,
        "producer_id": alert.producer_id,
        "district": alert.district,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

"""Sending one webhook delivery: the outbox job behind each (alert, subscription) pair."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app
from sqlmodel import Session

from trace import jobs
from trace.alerts import transport
from trace.alerts.signing import HEADER, sign
from trace.alerts.webhooks import DELIVERED, FAILED, PENDING, alert_body
from trace.models import Alert, WebhookDelivery, WebhookSubscription
from trace.models.base import utcnow

log = logging.getLogger(__name__)
USER_AGENT = "AgriTrace-Webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; the outbox retries it with backoff."""


@dataclass(frozen=True)
class Answer:
    """What the receiver said: a status code, or why there was none."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def run_delivery(session: Session, payload: dict[str, Any]) -> None:
    """Job handler: post the alert to the subscription, signed; record how it went.

    :raises DeliveryFailed: the receiver refused it or could not be reached (the job is
        retried; after the outbox's last attempt the delivery is marked failed).
    """
    delivery = session.get(WebhookDelivery, int(payload["delivery_id"]))
    if delivery is None or delivery.status != PENDING:
        return  # delivered (or given up) already: a job can run again after a crash
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    alert = session.get(Alert, delivery.alert_id)
    assert subscription is not None and alert is not None
    if subscription.disabled_at is not None:
        _record(session, delivery, Answer(None, "subscription disabled"), give_up=True)
        return
    answer = post(subscription, alert_body(alert), delivery.id)  # type: ignore[arg-type]
    delivery.attempts += 1
    _record(session, delivery, answer, give_up=delivery.attempts >= jobs.MAX_ATTEMPTS)
    if not answer.ok:
        raise DeliveryFailed(f"delivery {delivery.id}: {answer.error or answer.status}")


def post(subscription: WebhookSubscription, body: bytes, delivery_id: int) -> Answer:
    """Post ``body`` signed with the subscription's secret; never follows redirects.

    The host is resolved and checked here, and the request goes to the address checked:
    it may resolve elsewhere than at registration, or than a moment ago.
    """
    config = current_app.config
    try:
        target = transport.resolve(subscription.url, bool(config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]))
    except transport.TargetRefused as problem:
        return Answer(None, str(problem))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: sign(subscription.secret, body),
        "X-AgriTrace-Delivery": str(delivery_id),
    }
    timeout = float(config["WEBHOOK_TIMEOUT_SECONDS"])
    try:
        response = transport.post(target, body, headers, timeout)
    except requests.RequestException as error:
        return Answer(None, f"{type(error).__name__}: {error}"[:500])
    refused = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Answer(response.status_code, refused)


def _record(session: Session, delivery: WebhookDelivery, answer: Answer, give_up: bool) -> None:
    delivery.last_attempt_at = utcnow()
    delivery.last_status_code = answer.status
    delivery.last_error = answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at = DELIVERED, utcnow()
    elif give_up:
        delivery.status = FAILED
    session.add(delivery)
    session.commit()  # kept even though the job then fails and rolls back

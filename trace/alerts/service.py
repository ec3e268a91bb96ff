"""Recording alerts (in the caller's transaction) and reading the feed page by page."""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import force_locale, gettext
from sqlmodel import Session, col, select

from trace.db import conflict_insert
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Alert, Lot, Producer, Product, Role
from trace.models.base import utcnow
from trace.services.access import Actor

#: The anomaly list names at most this many tampered lots (there should be none at all).
MAX_TAMPERED = 500


def N_(text: str) -> str:  # noqa: N802 - babel's marker for texts translated later
    return text


class AlertKind(enum.StrEnum):
    RECALL = "recall"
    TAMPER_DETECTED = "tamper_detected"
    FLAG_RAISED = "flag_raised"
    CERTIFICATION_EXPIRED = "certification_expired"
    ANCHORING_FAILING = "anchoring_failing"


#: Each kind's message; its placeholders come from the alert's ``details["params"]``.
MESSAGES = {
    AlertKind.RECALL: N_("Lot %(lot)s (%(product)s) was recalled: %(reason)s"),
    AlertKind.TAMPER_DETECTED: N_(
        "Lot %(lot)s (%(product)s) no longer matches what was anchored on the blockchain."
    ),
    AlertKind.FLAG_RAISED: N_("Stamp %(serial)s of lot %(lot)s was flagged (%(rule)s)."),
    AlertKind.CERTIFICATION_EXPIRED: N_(
        "Certificate %(number)s (%(scheme)s) of %(producer)s expired on %(date)s."
    ),
    AlertKind.ANCHORING_FAILING: N_(
        "Anchoring round %(round)s has failed %(attempts)s times: %(error)s"
    ),
}


def record_alert(
    session: Session,
    kind: AlertKind,
    params: Mapping[str, Any],
    *,
    lot_id: int | None = None,
    producer_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Alert | None:
    """Record an alert and queue its webhook deliveries, in the caller's transaction.

    The caller commits (or rolls back: then neither the alert nor its deliveries exist).

    :param params: the placeholders of the kind's message.
    :param lot_id: the lot it concerns; its producer (and district) are found from it.
    :param dedupe_key: one alert per key: a second one with the same key records nothing.
    :returns: the new alert, or None when one with ``dedupe_key`` exists already.
    """
    if lot_id is not None and producer_id is None:
        producer_id = session.exec(select(Lot.producer_id).where(Lot.id == lot_id)).first()
    producer = session.get(Producer, producer_id) if producer_id is not None else None
    values = {
        "kind": str(kind),
        "message": (MESSAGES[kind] % dict(params))[:500],
        "lot_id": lot_id,
        "producer_id": producer_id,
        "district": producer.district if producer else None,
        "details": {**(details or {}), "params": {k: str(v) for k, v in params.items()}},
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    alert_id = _insert_once(session, values)
    if alert_id is None:
        return None
    alert = session.get(Alert, alert_id)
    assert alert is not None
    from trace.alerts.webhooks import queue_deliveries

    queue_deliveries(session, alert)
    return alert


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING: concurrent raisers record one alert."""
    statement = (
        conflict_insert(session, Alert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Alert.id))
    )
    found: int | None = session.execute(statement).scalar_one_or_none()
    return found


def alert_message(alert: Alert, locale: str) -> str:
    """The alert's message in ``locale`` (``en`` or ``vi``)."""
    template = MESSAGES.get(AlertKind(alert.kind)) if alert.kind in set(AlertKind) else None
    if template is None:
        return alert.message
    with force_locale(locale):
        return gettext(template, **alert.details.get("params", {}))


@dataclass(frozen=True)
class AlertQuery:
    """Filters of the alert feed and where the page starts."""

    kind: str | None = None
    district: str | None = None
    since: datetime | None = None
    cursor: str | None = None
    per_page: int = 50


@dataclass(frozen=True)
class AlertPage:
    """One page of alerts, newest first, and the cursor of the next page (None: the last)."""

    items: list[Alert]
    next_cursor: str | None


def list_alerts(session: Session, actor: Actor, query: AlertQuery) -> AlertPage:
    """Alerts newest first; a farmer sees only their producer's.

    :raises ValidationError: a cursor this service did not make.
    """
    statement = select(Alert).order_by(col(Alert.id).desc())
    if actor.role == Role.FARMER:
        statement = statement.where(Alert.producer_id == (actor.producer_id or -1))
    before = _decode(query.cursor)
    if before is not None:
        statement = statement.where(col(Alert.id) < before)
    if query.kind:
        statement = statement.where(Alert.kind == query.kind)
    if query.district:
        statement = statement.where(Alert.district == query.district)
    if query.since is not None:
        statement = statement.where(col(Alert.created_at) >= query.since.astimezone(UTC))
    rows = list(session.exec(statement.limit(query.per_page + 1)))
    page = rows[: query.per_page]
    more = len(rows) > query.per_page
    return AlertPage(page, _encode(page[-1].id) if more else None)  # type: ignore[arg-type]


def _encode(alert_id: int) -> str:
    return base64.urlsafe_b64encode(f"alert:{alert_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix == "alert" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ValidationError({"cursor": _l("This cursor is not valid.")})


def lot_alerted(session: Session, lot_id: int, kind: AlertKind) -> bool:
    """Whether an alert of ``kind`` was recorded for the lot (what a page may claim)."""
    statement = select(Alert.id).where(Alert.lot_id == lot_id, Alert.kind == str(kind)).limit(1)
    return session.exec(statement).first() is not None


def tampered_lots(
    session: Session, actor: Actor, product_id: int | None = None, gtin: str | None = None
) -> list[tuple[Lot, Product]]:
    """Lots found tampered, most recently found first; a farmer sees only their own."""
    statement = (
        select(Lot, Product)
        .join(Product, col(Product.id) == Lot.product_id)
        .where(col(Lot.tampered_at).is_not(None))
    )
    if actor.role == Role.FARMER:
        statement = statement.where(Lot.producer_id == (actor.producer_id or -1))
    if product_id is not None:
        statement = statement.where(Product.id == product_id)
    if gtin is not None:
        statement = statement.where(Product.gtin == gtin)
    statement = statement.order_by(col(Lot.tampered_at).desc(), col(Lot.id).desc())
    return [(lot, product) for lot, product in session.exec(statement.limit(MAX_TAMPERED))]

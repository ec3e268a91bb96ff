"""Push a producer's records to the portal in order, safely under retries.

Records go parents first (organisation, products, growing areas, production orders, stage
events, recalls), each under a lease so two workers never push the same one. A create
carries an idempotency key derived from its document; from a record's second create try
on, it is first looked up by its ``source_ref``, so a write whose answer was lost (a
timeout, a crash) is found and never made twice. Every request and the portal's answer
is kept (``PortalPush``) in the commit that records the outcome.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, or_, update
from sqlmodel import Session, col, select

from marketplace.errors import MarketplaceError, RemoteNotFound
from marketplace.portal import mapping as m
from marketplace.portal.client import Exchange, PortalClient
from marketplace.portal.documents import (
    COLLECTION_PATHS,
    Outgoing,
    ensure_records,
    outgoing,
    source_ref,
)
from marketplace.portal.models import (
    KIND_ORDER,
    PortalEnrolment,
    PortalPush,
    PortalRecord,
    RecordKind,
    RecordState,
)
from marketplace.sync import SyncSettings, counts_as_attempt, retry_after
from trace.jobs import RetryLater
from trace.models import Lot
from trace.models.base import utcnow

LEASE = timedelta(seconds=120)
BUSY_RETRY = 0.5


@dataclass(frozen=True)
class PortalSettings:
    """What the push needs from the app: the client, the public base URL, the retry policy."""

    client: PortalClient
    base_url: str
    retry: SyncSettings


class Waiting(Exception):
    """A record's parent is not on the portal yet (it failed or waits itself)."""


def enrolled(session: Session, producer_id: int) -> bool:
    """Whether the producer shares with the portal now."""
    enrolment = session.get(PortalEnrolment, producer_id)
    return enrolment is not None and enrolment.enabled


def sync_producer(
    session: Session,
    settings: PortalSettings,
    producer_id: int,
    worker: str,
    lot_id: int | None = None,
) -> int:
    """Push the producer's records the portal lacks or holds stale (only one lot's chain
    with ``lot_id``); nothing when the producer has not opted in.

    :returns: how many records were sent in this run.
    :raises RetryLater: a transient failure (retried with backoff) or a busy record.
    """
    if not enrolled(session, producer_id):
        return 0
    ensure_records(session, producer_id, lot_id)
    sent = 0
    for record_id in _queue(session, producer_id, lot_id):
        sent += push_record(session, settings, record_id, worker)
    return sent


def _queue(session: Session, producer_id: int, lot_id: int | None) -> list[int]:
    statement = select(PortalRecord).where(PortalRecord.producer_id == producer_id)
    if lot_id is not None:
        lot = session.get(Lot, lot_id)
        assert lot is not None
        statement = statement.where(
            or_(
                col(PortalRecord.lot_id) == lot_id,
                col(PortalRecord.kind) == RecordKind.ORGANISATION,
                (col(PortalRecord.kind) == RecordKind.PRODUCT)
                & (col(PortalRecord.local_id) == lot.product_id),
                (col(PortalRecord.kind) == RecordKind.GROWING_AREA)
                & (col(PortalRecord.local_id) == (lot.plot_id or 0)),
            )
        )
    rows = list(session.exec(statement))
    rows.sort(key=lambda row: (KIND_ORDER[RecordKind(row.kind)], row.id))
    return [row.id for row in rows]  # type: ignore[misc]


def push_record(session: Session, settings: PortalSettings, record_id: int, worker: str) -> int:
    """Bring one record on the portal in line with the registry.

    :returns: 1 when something was sent, else 0.
    :raises RetryLater: a transient failure, a rate limit, or another worker holds it.
    """
    row = _take_lease(session, record_id, worker)
    if row is None:
        raise RetryLater(f"portal record {record_id} is being pushed elsewhere", BUSY_RETRY)
    exchanges: list[Exchange] = []
    try:
        try:
            return _push(session, settings, row, exchanges)
        except Waiting as waiting:
            _finish(session, row, RecordState.BLOCKED, [], error=str(waiting))
            return 0
        except MarketplaceError as error:
            exchanges += [error.exchange] if hasattr(error, "exchange") else []
            retry = _record_failure(session, settings, row, error, exchanges)
            if retry is not None:
                raise retry from None
            return 0
    except RetryLater:
        raise
    except BaseException:
        session.rollback()
        _release(session, record_id, worker)
        raise


def _push(
    session: Session, settings: PortalSettings, row: PortalRecord, exchanges: list[Exchange]
) -> int:
    out = outgoing(session, row, settings.base_url, _remote_of(session))
    _check_parents(session, out)
    digest = _digest(out.doc)
    if row.state == RecordState.SENT and row.sent_hash == digest and row.remote_id:
        _finish(session, row, RecordState.SENT, [])
        return 0
    client = settings.client

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> Exchange:
        exchange = client.call(method, path, body, **kwargs)
        exchanges.append(exchange)
        exchange.raise_for_status()
        return exchange

    if row.kind in (RecordKind.ORGANISATION, RecordKind.RECALL):
        row.remote_id = str(call("POST", out.path, out.doc).data.get(m.ID, row.remote_id or ""))
    else:
        _create_or_update(row, out, digest, call)
    row.sent_hash = digest
    _finish(session, row, RecordState.SENT, exchanges)
    return 1


def _create_or_update(row: PortalRecord, out: Outgoing, digest: str, call: Any) -> None:
    collection = COLLECTION_PATHS[RecordKind(row.kind)]
    if row.remote_id is None and row.create_tries > 1:
        ref = source_ref(row.kind, row.local_id)
        found = call("GET", collection, params={m.SOURCE_REF: ref}).reply.get(m.DATA, {})
        items = found.get(m.ITEMS, []) if isinstance(found, dict) else []
        if items:
            row.remote_id, row.sent_hash = str(items[0][m.ID]), None
    if row.remote_id is None:
        key = f"agritrace-{row.kind}-{row.local_id}-{digest[:32]}"
        row.remote_id = str(call("POST", collection, out.doc, idempotency_key=key).data[m.ID])
        return
    try:
        call("PUT", f"{collection}/{row.remote_id}", out.doc)
    except RemoteNotFound:  # deleted on the portal: create it again
        row.remote_id, row.create_tries = None, 0
        _create_or_update(row, out, digest, call)


def _remote_of(session: Session) -> Any:
    def remote(kind: str, local_id: int) -> str | None:
        statement = select(PortalRecord.remote_id).where(
            PortalRecord.kind == kind, PortalRecord.local_id == local_id
        )
        return session.exec(statement).first()

    return remote


def _check_parents(session: Session, out: Outgoing) -> None:
    """:raises Waiting: a parent is not on the portal (named, with the portal's reason)."""
    for kind, local_id in out.parents:
        parent = session.exec(
            select(PortalRecord).where(PortalRecord.kind == kind, PortalRecord.local_id == local_id)
        ).first()
        if parent is None or parent.state != RecordState.SENT or not parent.remote_id:
            why = f": {parent.last_error}" if parent is not None and parent.last_error else ""
            raise Waiting(f"waits for {kind} {local_id}{why}"[:500])


def _digest(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _finish(
    session: Session,
    row: PortalRecord,
    state: RecordState,
    exchanges: list[Exchange],
    error: str | None = None,
) -> None:
    """Record the outcome and the exchanges, give the lease back, commit at once."""
    row.state, row.last_error = state, error
    if state == RecordState.SENT:
        row.attempts, row.last_synced_at = 0, utcnow()
    row.updated_at, row.leased_by, row.lease_until = utcnow(), None, None
    session.add(row)
    _log(session, row, exchanges)
    session.commit()


def _log(session: Session, row: PortalRecord, exchanges: list[Exchange]) -> None:
    for exchange in exchanges:
        ok = exchange.status is not None and exchange.status < 400
        outcome = "ok" if ok else ("rejected" if exchange.status in (400, 409, 422) else "error")
        reply = exchange.reply if exchange.status is not None else {"error": exchange.error}
        session.add(
            PortalPush(
                producer_id=row.producer_id,
                record_id=row.id,
                kind=row.kind,
                method=exchange.method,
                path=exchange.path[:200],
                request=exchange.request,
                status_code=exchange.status,
                response=reply,
                outcome=outcome,
            )  # fmt: skip
        )


def _record_failure(
    session: Session,
    settings: PortalSettings,
    row: PortalRecord,
    error: MarketplaceError,
    exchanges: list[Exchange],
) -> RetryLater | None:
    """Note the failure and its exchanges; return the retry to ask for, or None."""
    session.rollback()
    session.refresh(row)
    state = RecordState(row.state) if row.state != RecordState.SENT else RecordState.PENDING
    counted = counts_as_attempt(error)
    if counted:
        row.attempts += 1
    retry = retry_after(error, row.attempts, settings.retry)
    if retry is None:  # out of attempts, or refused: retrying the same data will not help
        state = RecordState.FAILED if counted else RecordState.REJECTED
    _finish(session, row, state, exchanges, error=str(error)[:500])
    return retry


def _take_lease(session: Session, record_id: int, worker: str) -> PortalRecord | None:
    """Lease the record and count a create try if it has no portal id, in one statement."""
    now = utcnow()
    no_remote_id = case((col(PortalRecord.remote_id).is_(None), 1), else_=0)
    statement = (
        update(PortalRecord)
        .where(
            col(PortalRecord.id) == record_id,
            or_(col(PortalRecord.lease_until).is_(None), col(PortalRecord.lease_until) < now),
        )
        .values(
            leased_by=worker,
            lease_until=now + LEASE,
            create_tries=col(PortalRecord.create_tries) + no_remote_id,
        )
        .returning(PortalRecord)
        .execution_options(populate_existing=True)
    )
    row = session.scalars(statement).one_or_none()
    session.commit()
    return row


def _release(session: Session, record_id: int, worker: str) -> None:
    session.execute(
        update(PortalRecord)
        .where(col(PortalRecord.id) == record_id, col(PortalRecord.leased_by) == worker)
        .values(leased_by=None, lease_until=None)
    )
    session.commit()

"""Bring one listing on one marketplace in line with the registry, safely under retries.

A listing is synced under a lease (a worker that dies lets it expire) so two workers
never push the same listing at once. Every create carries an idempotency key derived from
the listing's content. Taking the lease of a listing with no remote id counts a create
try (``create_tries``) in the same statement, so from the second try on an earlier one
may have reached the marketplace: the listing is then looked up by SKU before it is
created, and a retry after a timeout (or a crash) that hid a successful write finds that
write. The first try needs no look-up: nothing of ours can be there yet (a listing made
by hand in the shop shows up in reconciliation as a duplicate or an unknown listing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, or_, update
from sqlmodel import Session, col

from marketplace.errors import (
    MarketplaceError,
    RateLimited,
    RemoteNotFound,
    RemoteRejected,
    TransientError,
)
from marketplace.listing import desired_listing
from marketplace.models import ListingState, ListingSync
from marketplace.protocol import ACTIVE, Listing, MarketplaceAdapter, PriceStock, RemoteListing
from marketplace.services import queue_listing
from trace.jobs import RetryLater, backoff_delay, crash_point
from trace.models.base import utcnow

LEASE = timedelta(seconds=120)
BUSY_RETRY = 0.5  # seconds before trying a listing another worker holds


@dataclass(frozen=True)
class SyncSettings:
    """What the sync needs from the app: adapters, the public base URL and retry policy."""

    adapters: Mapping[str, MarketplaceAdapter]
    base_url: str
    max_attempts: int = 6
    backoff_seconds: float = 2.0
    backoff_cap: float = 300.0

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter (0.5x to 1.5x) after ``attempts`` failures."""
        return backoff_delay(attempts, self.backoff_seconds, self.backoff_cap, jitter=True)


def counts_as_attempt(error: MarketplaceError) -> bool:
    """Whether a failure uses up an attempt: a transient one, unless the server only asked
    us to slow down."""
    return isinstance(error, TransientError) and not isinstance(error, RateLimited)


def retry_after(
    error: MarketplaceError, attempts: int, settings: SyncSettings
) -> RetryLater | None:
    """The retry to ask the worker for after ``error``, or None when giving up.

    A rate limit is retried when the server says; a transient failure with backoff while
    ``attempts`` (the failures counted so far, this one included) stay under
    ``settings.max_attempts``; anything else is refused outright.
    """
    if isinstance(error, RateLimited):
        return RetryLater(str(error), max(error.retry_after, 0.01))
    if isinstance(error, TransientError) and attempts < settings.max_attempts:
        return RetryLater(str(error), settings.backoff(attempts))
    return None


def idempotency_key(row: ListingSync, listing: Listing) -> str:
    """One key per listing version on one marketplace."""
    return f"{row.marketplace}-{listing.sku}-{listing.version_hash()[:40]}"


def sync_listing(session: Session, settings: SyncSettings, listing_id: int, worker: str) -> None:
    """Push listing ``listing_id`` to its marketplace, or take it off sale if disabled.

    The step that ends the sync (its last write, or the failure noted) gives the lease back
    in the same commit.

    :raises RetryLater: another worker holds the listing, the marketplace asked us to slow
        down, or a transient failure will be retried with backoff.
    """
    row = _take_lease(session, listing_id, worker)
    if row is None:
        if session.get(ListingSync, listing_id) is None:
            return
        raise RetryLater(f"listing {listing_id} is being synced by another worker", BUSY_RETRY)
    try:
        try:
            adapter = settings.adapters.get(row.marketplace)
            if adapter is None:
                raise RemoteRejected(f"marketplace {row.marketplace!r} is not configured")
            _push(session, settings, adapter, row)
        except MarketplaceError as error:
            retry = _record_failure(session, settings, row, error)
            if retry is not None:
                raise retry from None
    except RetryLater:
        raise
    except BaseException:  # the database failed, or the worker is stopping: free it now
        session.rollback()
        _release_lease(session, listing_id, worker)
        raise


def _push(
    session: Session, settings: SyncSettings, adapter: MarketplaceAdapter, row: ListingSync
) -> None:
    listing = desired_listing(session, row, settings.base_url)
    if row.enabled:
        _ensure_listed(session, adapter, row, listing)
    else:
        _ensure_delisted(session, adapter, row, listing.sku)


def _ensure_listed(
    session: Session, adapter: MarketplaceAdapter, row: ListingSync, listing: Listing
) -> None:
    if row.external_id is None:
        existing = find_remote(adapter, listing.sku) if row.create_tries > 1 else None
        if existing is None:
            remote = adapter.create_listing(listing, idempotency_key(row, listing))
            crash_point("listing-created")  # fault drills: listed, not yet acknowledged
            _sent(session, row, remote, listing)
            return
        row.external_id = existing.external_id
        row.sent_content_hash = None  # adopted: its content is unknown, send it all
        session.commit()
    if row.sent_content_hash == listing.content_hash() and row.state != ListingState.DELISTED:
        if (row.sent_price_vnd, row.sent_stock) == (listing.price_vnd, listing.stock):
            _sent(session, row, None, listing)
            return
        item = PriceStock(row.external_id, listing.price_vnd, listing.stock)
        if adapter.update_price_stock([item])[0].error is None:
            _sent(session, row, None, listing)
            return
    try:  # content changed, relisting, or the price update was refused: send everything
        remote = adapter.update_listing(row.external_id, listing)
    except RemoteNotFound:  # deleted on the marketplace's side: list it again
        row.external_id = None
        session.commit()
        _ensure_listed(session, adapter, row, listing)
        return
    _sent(session, row, remote, listing)


def _ensure_delisted(
    session: Session, adapter: MarketplaceAdapter, row: ListingSync, sku: str
) -> None:
    if row.external_id is None:
        existing = find_remote(adapter, sku)
        if existing is None:  # never reached the marketplace
            _mark(session, row, ListingState.DELISTED if row.last_synced_at else ListingState.DRAFT)
            return
        row.external_id = existing.external_id
    if row.state != ListingState.DELISTED or row.sent_content_hash is not None:
        try:
            adapter.delist(row.external_id)
        except RemoteNotFound:
            pass  # gone is as good as delisted
    row.sent_content_hash, row.sent_price_vnd, row.sent_stock = None, None, None
    _mark(session, row, ListingState.DELISTED)


def find_remote(adapter: MarketplaceAdapter, sku: str) -> RemoteListing | None:
    """Our listing of ``sku`` on the marketplace: the active one first, then the oldest."""
    found = [remote for remote in adapter.list_listings(sku=sku) if remote.sku == sku]
    active = [remote for remote in found if remote.status == ACTIVE]
    return next(iter(active or found), None)


def _sent(
    session: Session, row: ListingSync, remote: RemoteListing | None, listing: Listing
) -> None:
    if remote is not None:
        row.external_id = remote.external_id
    row.sent_content_hash = listing.content_hash()
    row.sent_price_vnd, row.sent_stock = listing.price_vnd, listing.stock
    _mark(session, row, ListingState.LISTED)


def _mark(session: Session, row: ListingSync, state: ListingState) -> None:
    """Record the sync's last step, give the lease back, and commit at once (a crash must
    not forget a write)."""
    row.state = state
    row.attempts, row.last_error = 0, None
    row.last_synced_at = row.updated_at = utcnow()
    row.leased_by, row.lease_until = None, None
    session.add(row)
    session.commit()


def _record_failure(
    session: Session, settings: SyncSettings, row: ListingSync, error: MarketplaceError
) -> RetryLater | None:
    """Note the error on the listing and give the lease back; return the retry to ask for,
    or None when giving up."""
    session.rollback()
    session.refresh(row)
    row.last_error, row.updated_at = str(error)[:500], utcnow()
    row.leased_by, row.lease_until = None, None
    if not isinstance(error, RateLimited):  # a refused listing counts too (it is given up)
        row.attempts += 1
    retry = retry_after(error, row.attempts, settings)
    if retry is None:  # refused outright, or out of attempts: the dead-letter list
        row.state = ListingState.FAILED
    session.add(row)
    session.commit()
    return retry


def _take_lease(session: Session, listing_id: int, worker: str) -> ListingSync | None:
    """Lease the listing and count a create try if it has no remote id, in one statement.

    :returns: the listing as leased, or None when another worker holds it (or it is gone).
    """
    now = utcnow()
    no_remote_id = case((col(ListingSync.external_id).is_(None), 1), else_=0)
    statement = (
        update(ListingSync)
        .where(
            col(ListingSync.id) == listing_id,
            or_(col(ListingSync.lease_until).is_(None), col(ListingSync.lease_until) < now),
        )
        .values(
            leased_by=worker,
            lease_until=now + LEASE,
            create_tries=col(ListingSync.create_tries) + no_remote_id,
        )
        .returning(ListingSync)
        .execution_options(populate_existing=True)
    )
    row = session.scalars(statement).one_or_none()
    session.commit()
    return row


def _release_lease(session: Session, listing_id: int, worker: str) -> None:
    session.execute(
        update(ListingSync)
        .where(col(ListingSync.id) == listing_id, col(ListingSync.leased_by) == worker)
        .values(leased_by=None, lease_until=None)
    )
    session.commit()


def sync_price_stock(
    session: Session, settings: SyncSettings, marketplace: str, worker: str
) -> int:
    """Send the price and stock of every listing of ``marketplace`` waiting for a sync, in
    batches of the adapter's ``max_batch`` (one call per batch).

    Only listings whose content the marketplace already shows qualify; the others (a first
    create, changed content, a relisting, an item the marketplace refused) get a sync job of
    their own. Running it again is harmless: listings already sent are left alone.

    :returns: how many listings were sent in batches.
    :raises RetryLater: the marketplace failed a batch for now (the rest wait for the retry).
    """
    adapter = settings.adapters.get(marketplace)
    rows = _lease_waiting(session, marketplace, worker)
    if adapter is None or not rows:
        return 0
    batch: list[tuple[ListingSync, Listing]] = []
    for row in rows:
        listing = desired_listing(session, row, settings.base_url)
        if row.sent_content_hash == listing.content_hash():
            batch.append((row, listing))
        else:
            _on_its_own(session, row)
    session.commit()
    sent = 0
    for start in range(0, len(batch), max(adapter.max_batch, 1)):
        chunk = batch[start : start + max(adapter.max_batch, 1)]
        sent += _send_batch(session, settings, adapter, chunk, batch[start:])
    return sent


def _send_batch(
    session: Session,
    settings: SyncSettings,
    adapter: MarketplaceAdapter,
    chunk: list[tuple[ListingSync, Listing]],
    unsent: list[tuple[ListingSync, Listing]],
) -> int:
    items = [PriceStock(row.external_id or "", lst.price_vnd, lst.stock) for row, lst in chunk]
    try:
        results = {result.external_id: result for result in adapter.update_price_stock(items)}
    except TransientError as error:  # this batch and the ones after it wait for the retry
        for row, _ in unsent:
            row.leased_by, row.lease_until = None, None
            session.add(row)
        session.commit()
        attempts = min(len(unsent), settings.max_attempts)
        delay = error.retry_after if isinstance(error, RateLimited) else settings.backoff(attempts)
        raise RetryLater(str(error), max(delay, 0.01)) from None
    except MarketplaceError:  # refused as a whole: each listing finds its own way
        results = {}
    sent = 0
    now = utcnow()
    for row, listing in chunk:
        result = results.get(row.external_id or "")
        if result is None or result.error is not None:
            _on_its_own(session, row)
            continue
        row.sent_price_vnd, row.sent_stock = listing.price_vnd, listing.stock
        row.state, row.attempts, row.last_error = ListingState.LISTED, 0, None
        row.last_synced_at = row.updated_at = now
        row.leased_by, row.lease_until = None, None
        session.add(row)
        sent += 1
    session.commit()
    return sent


def _on_its_own(session: Session, row: ListingSync) -> None:
    """Give the lease back and queue the listing's own sync (in the caller's transaction).

    What we recorded as sent is forgotten, so its own sync sends the whole listing (the
    content changed, or the marketplace refused its price update) and no later batch
    takes it back.
    """
    row.leased_by, row.lease_until, row.sent_content_hash = None, None, None
    queue_listing(session, row)


def _lease_waiting(session: Session, marketplace: str, worker: str) -> list[ListingSync]:
    """Lease every listing of ``marketplace`` that waits for a price and stock update."""
    now = utcnow()
    statement = (
        update(ListingSync)
        .where(
            col(ListingSync.marketplace) == marketplace,
            col(ListingSync.state) == ListingState.SYNCING,
            col(ListingSync.enabled),
            col(ListingSync.external_id).is_not(None),
            col(ListingSync.sent_content_hash).is_not(None),
            or_(col(ListingSync.lease_until).is_(None), col(ListingSync.lease_until) < now),
        )
        .values(leased_by=worker, lease_until=now + LEASE)
        .returning(ListingSync)
        .execution_options(populate_existing=True)
    )
    rows = list(session.scalars(statement))
    session.commit()
    return sorted(rows, key=lambda row: row.id or 0)

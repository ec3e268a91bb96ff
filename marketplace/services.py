"""What farmers and admins do with listings: choose marketplaces, set price and stock, retry.

Every change writes its sync job in the same transaction (the outbox), so a listing
change is never saved without the job that sends it, nor sent without being saved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from marketplace.models import ListingState, ListingSync
from trace import jobs
from trace.errors import NotFound
from trace.i18n import _l
from trace.models import Lot, Product, Role
from trace.models.base import stored_id, utcnow
from trace.services.access import Actor, owned, producer_for_change
from trace.services.checks import Checks

JOB_SYNC_LISTING = "marketplace.sync_listing"
JOB_SYNC_PRODUCT = "marketplace.sync_product"
JOB_DELIST = "marketplace.delist"
JOB_SYNC_PRICE_STOCK = "marketplace.sync_price_stock"
#: How long a price-and-stock batch waits for more listings of its marketplace to change
#: (a recall or a mint touching many products queues one job per product).
BATCH_WINDOW = timedelta(seconds=1)
MIN_PRICE, MAX_PRICE, MAX_STOCK = 1_000, 1_000_000_000, 100_000
_GROUPING = re.compile(r"[\s.,_]|đ$|vnd$", re.IGNORECASE)


@dataclass(frozen=True)
class ListingChoice:
    """A farmer's wish for one product on one marketplace, as typed."""

    marketplace: str
    enabled: bool
    price_vnd: str
    stock: str


def listings_for_product(session: Session, actor: Actor, product_id: int) -> list[ListingSync]:
    """The product's listings, one per marketplace it was ever offered on.

    :raises NotFound: unknown product, or another producer's.
    """
    owned(session, actor, Product, product_id)
    statement = select(ListingSync).where(ListingSync.product_id == product_id)
    return list(session.exec(statement.order_by(col(ListingSync.marketplace))))


def save_listings(
    session: Session,
    actor: Actor,
    product_id: int,
    choices: Sequence[ListingChoice],
    marketplaces: Sequence[str],
) -> list[ListingSync]:
    """Save the farmer's choices and queue a sync for each listing that changed.

    :param marketplaces: the configured marketplaces' names.
    :raises NotFound: another producer's product.
    :raises Conflict: the producer may not record data (awaiting approval, suspended).
    :raises ValidationError: an unknown marketplace; a price or stock that is not a whole
        number in range (prices are whole dong).
    """
    producer = producer_for_change(session, actor)
    product = owned(session, actor, Product, product_id)
    existing = {row.marketplace: row for row in listings_for_product(session, actor, product_id)}
    checks, wanted = Checks(), []
    for choice in choices:
        if choice.marketplace not in marketplaces:
            checks.fail("marketplace", _l("Choose one of the listed options."))
            continue
        row = existing.get(choice.marketplace)
        if not choice.enabled and row is None:
            continue
        keep = row if row is not None and not choice.enabled else None
        price = _whole(checks, f"{choice.marketplace}_price_vnd", choice.price_vnd,
                       (MIN_PRICE, MAX_PRICE), keep.price_vnd if keep else None)  # fmt: skip
        stock = _whole(checks, f"{choice.marketplace}_stock", choice.stock,
                       (0, MAX_STOCK), keep.stock if keep else None)  # fmt: skip
        wanted.append((choice, row, price, stock))
    checks.done()
    for choice, row, price, stock in wanted:
        row = row or ListingSync(
            product_id=stored_id(product), producer_id=stored_id(producer),
            marketplace=choice.marketplace,
            price_vnd=price, stock=stock, enabled=False,
        )  # fmt: skip
        if (row.enabled, row.price_vnd, row.stock) != (
            choice.enabled,
            price,
            stock,
        ) or row.id is None:
            row.enabled, row.price_vnd, row.stock = choice.enabled, price, stock
            row.note = ""
            queue_listing(session, row)
    session.commit()
    return listings_for_product(session, actor, product_id)


def retry_listing(session: Session, actor: Actor, listing_id: int) -> ListingSync:
    """Send a listing again (the dead-letter list's retry button), with fresh attempts.

    :raises NotFound: unknown listing, another producer's, or the actor is an inspector.
    """
    if actor.role not in (Role.FARMER, Role.ADMIN):
        raise NotFound()
    row = owned(session, actor, ListingSync, listing_id)
    row.attempts = 0
    queue_listing(session, row)
    session.commit()
    return row


def failed_listings(session: Session, actor: Actor) -> list[tuple[ListingSync, Product]]:
    """Listings that gave up (the dead-letter list): a farmer's own, or all for staff."""
    statement = (
        select(ListingSync, Product)
        .join(Product, col(Product.id) == ListingSync.product_id)
        .where(ListingSync.state == ListingState.FAILED)
    )
    if actor.role == Role.FARMER:
        statement = statement.where(ListingSync.producer_id == actor.producer_id)
    return [
        (row, product)
        for row, product in session.exec(statement.order_by(col(ListingSync.updated_at).desc()))
    ]


def queue_delist(session: Session, lot: Lot, reason: str) -> None:
    """Queue taking ``lot``'s product off sale on every marketplace (the delister).

    Offered to recalls at the composition root (``trace.extensions.offer_delister``); runs
    in the recall's transaction. One job per lot, however often it is asked for.
    """
    payload = {"product_id": lot.product_id, "lot_id": lot.id, "reason": reason}
    jobs.enqueue(session, JOB_DELIST, payload, dedupe_key=f"delist:{lot.id}")


def product_changed(session: Session, /, *, product_id: int) -> None:
    """Queue resyncing a product's listings because its lots or stamps changed.

    Offered at the composition root (``trace.extensions.offer_product_listener``); runs in
    the transaction of the change (a lot recorded, stamps activated or voided).
    """
    jobs.enqueue(session, JOB_SYNC_PRODUCT, {"product_id": product_id})


def queue_product_sync(session: Session, product_id: int) -> int:
    """Queue a sync of every listing of a product (in the caller's transaction).

    A listing the marketplace already shows waits for its marketplace's next price-and-stock
    batch (``BATCH_WINDOW`` from now), so many products changing at once go in a few
    batched calls; the others (first creates, relistings) get a job of their own.

    :returns: how many listings were queued.
    """
    rows = session.exec(select(ListingSync).where(ListingSync.product_id == product_id)).all()
    batched: set[str] = set()
    for row in rows:
        if _shown(row):
            row.state = ListingState.SYNCING
            session.add(row)
            batched.add(row.marketplace)
        else:
            queue_listing(session, row)
    for marketplace in sorted(batched):
        payload = {"marketplace": marketplace}
        jobs.enqueue(session, JOB_SYNC_PRICE_STOCK, payload, run_after=utcnow() + BATCH_WINDOW)
    return len(rows)


def _shown(row: ListingSync) -> bool:
    """Whether the marketplace shows what we sent (only price and stock can be behind)."""
    waiting = row.state in (ListingState.LISTED, ListingState.SYNCING)
    return bool(row.enabled and row.external_id and row.sent_content_hash and waiting)


def queue_listing(session: Session, row: ListingSync) -> None:
    """Mark a listing as syncing and queue its job (in the caller's transaction)."""
    if row.enabled or row.state not in (ListingState.DRAFT, ListingState.DELISTED):
        row.state = ListingState.SYNCING
    session.add(row)
    session.flush()
    jobs.enqueue(session, JOB_SYNC_LISTING, {"listing_id": row.id})


def _whole(
    checks: Checks, field: str, typed: str, bounds: tuple[int, int], blank: int | None
) -> int:
    """A whole number as farmers type it ("35.000", "35,000 đ"); ``blank`` if left empty."""
    least, most = bounds
    text = _GROUPING.sub("", (typed or "").strip())
    if not text and blank is not None:
        return blank
    if not text.isdigit():
        checks.fail(field, _l("Enter a whole number."))
        return 0
    if not least <= int(text) <= most:
        checks.fail(
            field, _l("Between %(least)s and %(most)s.", least=f"{least:,}", most=f"{most:,}")
        )
    return int(text)

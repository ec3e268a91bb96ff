"""Compare what the marketplaces show with what we sent, and repair the drift."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from marketplace.models import ListingState, ListingSync
from marketplace.protocol import ACTIVE, MarketplaceAdapter, RemoteListing
from marketplace.services import queue_listing
from trace.models import Product

MISSING, DUPLICATE, STALE, NOT_DELISTED, UNKNOWN = (
    "missing", "duplicate", "stale", "not_delisted", "unknown",
)  # fmt: skip


@dataclass(frozen=True)
class Drift:
    """One difference between a marketplace and our records."""

    marketplace: str
    sku: str
    kind: str
    detail: str
    listing_id: int | None = None
    external_ids: tuple[str, ...] = ()


def find_drift(session: Session, name: str, adapter: MarketplaceAdapter) -> list[Drift]:
    """Every drift on marketplace ``name``: listings missing, duplicated, stale or unknown."""
    remote: dict[str, list[RemoteListing]] = defaultdict(list)
    for item in adapter.list_listings():
        remote[item.sku].append(item)
    statement = (
        select(ListingSync, Product.gtin)
        .join(Product, col(Product.id) == ListingSync.product_id)
        .where(ListingSync.marketplace == name)
    )
    drifts = []
    for row, sku in session.exec(statement):
        drifts += _compare(name, row, sku, remote.pop(sku, []))
    for sku, items in remote.items():
        ids = tuple(i.external_id for i in items)
        drifts.append(
            Drift(name, sku, UNKNOWN, "on the marketplace, not in our records", None, ids)
        )
    return drifts


def _compare(name: str, row: ListingSync, sku: str, items: list[RemoteListing]) -> list[Drift]:
    active = [item for item in items if item.status == ACTIVE]
    ids = tuple(item.external_id for item in active)

    def drift(kind: str, detail: str) -> list[Drift]:
        return [Drift(name, sku, kind, detail, row.id, ids)]

    if len(active) > 1:
        return drift(DUPLICATE, f"{len(active)} active listings")
    if not row.enabled:
        return drift(NOT_DELISTED, "still on sale") if active else []
    if row.state != ListingState.LISTED:
        return []  # a sync is on its way or gave up; the listing page shows it
    if not active:
        return drift(MISSING, "not on sale")
    sent = (row.sent_price_vnd, row.sent_stock)
    if (active[0].price_vnd, active[0].stock) != sent:
        shown = (active[0].price_vnd, active[0].stock)
        return drift(STALE, f"price/stock {shown} where we sent {sent}")
    return []


def repair(session: Session, adapter: MarketplaceAdapter, drifts: list[Drift]) -> int:
    """Delist duplicates (keeping the one we recorded) and queue a sync of every drifted listing.

    :returns: how many drifts were acted on (unknown listings are only reported).
    :raises MarketplaceError: the marketplace refused or failed a delisting.
    """
    acted = 0
    for drift in drifts:
        row = session.get(ListingSync, drift.listing_id) if drift.listing_id else None
        if row is None:
            continue
        if drift.kind == DUPLICATE:
            extra = [i for i in drift.external_ids if i != row.external_id]
            for external_id in extra[: len(drift.external_ids) - 1]:
                adapter.delist(external_id)
        # What we recorded as sent is what drifted: forget it, so the sync sends it all again
        # (a full update that also relists) or delists again, rather than trusting it.
        row.sent_content_hash, row.sent_price_vnd, row.sent_stock = None, None, None
        row.state = ListingState.SYNCING
        queue_listing(session, row)
        acted += 1
    session.commit()
    return acted

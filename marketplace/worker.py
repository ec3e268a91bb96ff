"""The marketplace's job handlers: thin callers of the sync, registered on the app's outbox."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlmodel import Session, select

from marketplace.extensions import portal_settings, sync_settings
from marketplace.models import ListingState, ListingSync
from marketplace.portal.services import queue_producer
from marketplace.portal.sync import enrolled
from marketplace.services import (
    JOB_DELIST,
    JOB_SYNC_LISTING,
    JOB_SYNC_PRICE_STOCK,
    JOB_SYNC_PRODUCT,
    queue_product_sync,
)
from marketplace.sync import SyncSettings, sync_listing, sync_price_stock
from trace import jobs
from trace.jobs import RetryLater
from trace.models import Product


def register(app: Flask) -> None:
    """Add the handlers to the app's job registry."""
    registry = jobs.handlers(app)
    registry[JOB_SYNC_LISTING] = handle_sync_listing
    registry[JOB_SYNC_PRODUCT] = handle_sync_product
    registry[JOB_DELIST] = handle_delist
    registry[JOB_SYNC_PRICE_STOCK] = handle_sync_price_stock


def settings() -> SyncSettings:
    """The current app's sync settings (built by ``init_app``)."""
    return sync_settings(current_app)


def handle_sync_listing(session: Session, payload: dict[str, Any]) -> None:
    """``marketplace.sync_listing`` {"listing_id"}: push one listing."""
    sync_listing(session, settings(), int(payload["listing_id"]), jobs.worker_name())


def handle_sync_product(session: Session, payload: dict[str, Any]) -> None:
    """``marketplace.sync_product`` {"product_id"}: queue each of the product's listings
    (and, for a producer who shares with the national portal, a push of what changed)."""
    product_id = int(payload["product_id"])
    queue_product_sync(session, product_id)
    product = session.get(Product, product_id)
    if product and portal_settings(current_app) and enrolled(session, product.producer_id):
        queue_producer(session, product.producer_id)
    session.commit()


def handle_sync_price_stock(session: Session, payload: dict[str, Any]) -> None:
    """``marketplace.sync_price_stock`` {"marketplace"}: every waiting listing's price and
    stock in batches (one call per ``max_batch`` listings)."""
    sync_price_stock(session, settings(), str(payload["marketplace"]), jobs.worker_name())


def handle_delist(session: Session, payload: dict[str, Any]) -> None:
    """``marketplace.delist`` {"product_id", "lot_id", "reason"}: off sale everywhere, now.

    Queued by a recall. The listings are disabled first (so any later sync keeps them
    off sale until the farmer lists them again), then delisted on every marketplace in
    this same job. Running it again is harmless.
    """
    statement = select(ListingSync).where(ListingSync.product_id == int(payload["product_id"]))
    rows = list(session.exec(statement))
    note = f"recall of lot {payload.get('lot_id')}: {payload.get('reason', '')}"[:200]
    for row in rows:
        row.enabled, row.note = False, note
        if row.state != ListingState.DELISTED:
            row.state = ListingState.SYNCING
        session.add(row)
    session.commit()
    waits = []
    for row in rows:
        try:
            sync_listing(session, settings(), row.id, jobs.worker_name())  # type: ignore[arg-type]
        except RetryLater as retry:
            waits.append(retry.delay or 1.0)
    if waits:
        raise RetryLater(f"{len(waits)} listing(s) still to delist", min(waits))

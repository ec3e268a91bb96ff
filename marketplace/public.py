"""What shoppers may see of a product's marketplace listings (read-only, no farmer data)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from marketplace.models import ListingState, ListingSync


def public_listings(session: Session, product_id: int) -> list[dict[str, Any]]:
    """The product's listings live on a marketplace now: where, at what price, how many.

    The composition root hands this to the product page (``app.extensions``), so the
    stamps package shows listings without importing this one.
    """
    statement = (
        select(ListingSync)
        .where(
            ListingSync.product_id == product_id,
            ListingSync.state == ListingState.LISTED,
            col(ListingSync.enabled).is_(True),
        )
        .order_by(col(ListingSync.marketplace))
    )
    return [
        {
            "marketplace": row.marketplace,
            "price_vnd": row.sent_price_vnd,
            "stock": row.sent_stock,
        }
        for row in session.exec(statement)
    ]

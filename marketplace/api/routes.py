"""``GET /api/v1/products/{id}/listings``: each listing's marketplace state."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from marketplace.api.schemas import ListingPageSchema
from marketplace.models import ListingSync
from marketplace.services import listings_for_product
from trace.api import ApiBlueprint, auth
from trace.db import get_session
from trace.models.tokens import Scope
from trace.services.access import Actor


def blueprint() -> ApiBlueprint:
    """A fresh blueprint per app (flask-smorest blueprints keep per-app docs)."""
    blp = ApiBlueprint(
        "marketplace_listings",
        __name__,
        url_prefix="/api/v1",
        description="Marketplace listings of products.",
    )

    @blp.route("/products/<int:product_id>/listings")
    class ProductListings(MethodView):
        @auth.requires(blp, Scope.READ)
        @auth.errors(blp, 404)
        @blp.response(200, ListingPageSchema)
        def get(self, product_id: int) -> dict[str, Any]:
            """A product's listing on each marketplace: state, remote id, last sync, error."""
            return listings_page(auth.actor(), product_id)

    return blp


def listing_item(row: ListingSync) -> dict[str, Any]:
    """A listing as the API shows it."""
    return {
        "marketplace": row.marketplace,
        "state": row.state,
        "enabled": row.enabled,
        "external_id": row.external_id,
        "price_vnd": row.price_vnd,
        "stock": row.stock,
        "listed_stock": row.sent_stock,
        "last_synced_at": row.last_synced_at,
        "last_error": row.last_error,
        "note": row.note,
    }


def listings_page(actor: Actor, product_id: int) -> dict[str, Any]:
    """All of a product's listings as one page (there is one per marketplace)."""
    items = [listing_item(row) for row in listings_for_product(get_session(), actor, product_id)]
    return {
        "items": items,
        "page": 1,
        "per_page": max(len(items), 1),
        "total": len(items),
        "pages": 1,
    }

"""The listings resource on the inspector API (only imported when the app has the API)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from marketplace.api import ListingSchema, listings_page
from trace.api import ApiBlueprint, auth
from trace.api.pagination import page_schema
from trace.models.tokens import Scope

ListingPageSchema = page_schema(ListingSchema, "ListingPageSchema")


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

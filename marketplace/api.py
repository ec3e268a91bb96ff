"""``GET /api/v1/products/{id}/listings``: each listing's marketplace state.

On the inspector API (flask-smorest, bearer tokens) when the app has one; otherwise a
plain route that needs a logged-in session.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from marketplace.models import ListingSync
from marketplace.services import listings_for_product
from trace.db import get_session
from trace.services.access import Actor

PATH = "/api/v1/products/<int:product_id>/listings"


class ListingSchema(Schema):
    """A product's listing on one marketplace."""

    marketplace = fields.String(required=True, metadata={"example": "postmart"})
    state = fields.String(
        required=True,
        metadata={"description": "draft, syncing, listed, failed or delisted"},
    )
    enabled = fields.Boolean(required=True, metadata={"description": "The farmer offers it."})
    external_id = fields.String(allow_none=True, metadata={"description": "The marketplace's id."})
    price_vnd = fields.Integer(required=True)
    stock = fields.Integer(required=True, metadata={"description": "Stock the farmer set."})
    listed_stock = fields.Integer(
        allow_none=True, metadata={"description": "Stock last sent (capped by active stamps)."}
    )
    last_synced_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    note = fields.String(metadata={"description": "e.g. why a recall delisted it."})


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


def init_app(app: Flask) -> None:
    """Register the route on the API if there is one, else as a plain JSON route."""
    api = app.extensions.get("api")
    if api is not None:
        from marketplace.api_smorest import blueprint

        api.register_blueprint(blueprint())
    else:
        app.add_url_rule(PATH, "marketplace_listings_api", _plain_listings, methods=["GET"])


def _plain_listings(product_id: int) -> ResponseReturnValue:
    from flask_login import current_user

    from trace.web.guards import actor

    if not current_user.is_authenticated:
        problem = {"type": "about:blank", "title": "Unauthorized", "status": 401}
        response = jsonify(problem)
        response.status_code, response.mimetype = 401, "application/problem+json"
        return response
    page = listings_page(actor(), product_id)
    return jsonify({"items": page["items"], "total": page["total"]})

"""Schemas of the listings resource: a product's listing on each marketplace."""

from __future__ import annotations

from marshmallow import Schema, fields

from trace.api.pagination import page_schema


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


ListingPageSchema = page_schema(ListingSchema, "ListingPageSchema")

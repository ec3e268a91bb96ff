"""Schemas of the alert feed."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.alerts import AlertKind
from trace.api.pagination import MAX_PER_PAGE

KINDS = [str(kind) for kind in AlertKind]


class AlertQueryArgsSchema(Schema):
    """Filters of the alert feed and the page wanted."""

    kind = fields.String(validate=validate.OneOf(KINDS))
    district = fields.String(validate=validate.Length(min=1, max=100))
    since = fields.AwareDateTime(
        metadata={"description": "Only alerts raised at or after this time (with an offset)."}
    )
    cursor = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "The `next_cursor` of the previous page (opaque)."},
    )
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class AlertSchema(Schema):
    """An alert: what happened, to which lot, producer and district, and when."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    message = fields.String(
        required=True, metadata={"description": "In English, or Vietnamese by Accept-Language."}
    )
    lot_id = fields.Integer(allow_none=True)
    producer_id = fields.Integer(allow_none=True)
    district = fields.String(allow_none=True)
    details = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)


class AlertPageSchema(Schema):
    """A page of alerts, newest first; ``next_cursor`` is null on the last page."""

    items = fields.List(fields.Nested(AlertSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class TamperedLotSchema(Schema):
    """A lot whose data no longer matches what was anchored for it."""

    lot_id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    product_id = fields.Integer(required=True)
    gtin = fields.String(required=True)
    producer_id = fields.Integer(required=True)
    tampered_at = fields.DateTime(required=True)


def tampered_lots_field() -> fields.List:
    """The ``tampered_lots`` field the anomaly list carries beside its flagged stamps."""
    return fields.List(
        fields.Nested(TamperedLotSchema),
        required=True,
        metadata={
            "description": "Lots found tampered, newest first (by product or GTIN; none "
            "when filtering by province or rule, which concern scans)."
        },
    )

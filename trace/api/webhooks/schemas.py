"""Schemas of webhook subscriptions and their deliveries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.api.alerts.schemas import KINDS
from trace.api.pagination import PageQueryArgsSchema, page_schema


class WebhookCreateSchema(Schema):
    """A receiver URL, the alert kinds it wants (all when empty) and its signing secret."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    kinds = fields.List(fields.String(validate=validate.OneOf(KINDS)), load_default=list)
    secret = fields.String(
        load_default=None,
        validate=validate.Length(min=16, max=200),
        metadata={"description": "HMAC key of the signatures; one is made when left out."},
    )


class WebhookSchema(Schema):
    """A subscription (its secret is never shown again after creation)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    kinds = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    disabled_at = fields.DateTime(allow_none=True)


class WebhookCreatedSchema(WebhookSchema):
    """A new subscription, with its secret: keep it, it is shown this once."""

    secret = fields.String(required=True)


class WebhookListSchema(Schema):
    """Every subscription, newest first."""

    items = fields.List(fields.Nested(WebhookSchema), required=True)


class DeliveryQueryArgsSchema(PageQueryArgsSchema):
    """Which page of deliveries to return."""


class DeliverySchema(Schema):
    """One alert sent to the subscription: how many tries, the last answer, when it landed."""

    id = fields.Integer(required=True)
    alert_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["pending", "delivered", "failed"])
    )
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPageSchema")

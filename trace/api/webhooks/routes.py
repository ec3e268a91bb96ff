"""Webhook subscriptions: administrators register receivers of signed alert deliveries."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from trace.alerts import webhooks
from trace.api import auth
from trace.api.core import ApiBlueprint
from trace.api.pagination import page_body, paginate
from trace.api.webhooks.schemas import (
    DeliveryPageSchema,
    DeliveryQueryArgsSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookListSchema,
    WebhookSchema,
)
from trace.db import get_session
from trace.models import Alert, WebhookDelivery, WebhookSubscription
from trace.models.tokens import Scope

blp = ApiBlueprint(
    "webhooks", __name__, url_prefix="/api/v1/webhooks", description="Alert webhooks."
)


@blp.route("")
class Webhooks(MethodView):
    @auth.requires(blp, Scope.ADMIN)
    @blp.response(200, WebhookListSchema)
    def get(self) -> dict[str, Any]:
        """Every webhook subscription, newest first (administrators)."""
        found = webhooks.list_subscriptions(get_session(), auth.actor())
        return {"items": [subscription_item(s) for s in found]}

    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 400, 422)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookCreatedSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a receiver of signed alert deliveries (administrators)."""
        allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"])
        created = webhooks.create_subscription(
            get_session(), auth.actor(), body["url"], body["kinds"], body["secret"], allow_private
        )
        return subscription_item(created.subscription) | {"secret": created.secret}


@blp.route("/<int:subscription_id>")
class Webhook(MethodView):
    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 404)
    @blp.response(200, WebhookSchema)
    def get(self, subscription_id: int) -> dict[str, Any]:
        """One webhook subscription (administrators)."""
        found = webhooks.get_subscription(get_session(), auth.actor(), subscription_id)
        return subscription_item(found)

    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 404)
    @blp.response(204)
    def delete(self, subscription_id: int) -> None:
        """Stop deliveries to a subscription; its delivery history stays (administrators)."""
        webhooks.disable_subscription(get_session(), auth.actor(), subscription_id)


@blp.route("/<int:subscription_id>/deliveries")
class Deliveries(MethodView):
    @auth.requires(blp, Scope.ADMIN)
    @auth.errors(blp, 404, 422)
    @blp.arguments(DeliveryQueryArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args: dict[str, Any], subscription_id: int) -> dict[str, Any]:
        """The subscription's deliveries, newest first: status, attempts, last answer."""
        session = get_session()
        webhooks.get_subscription(session, auth.actor(), subscription_id)
        page = paginate(session, webhooks.deliveries_of(session, subscription_id), args)
        return page_body(page, [delivery_item(*row) for row in page.items])


def subscription_item(subscription: WebhookSubscription) -> dict[str, Any]:
    """A subscription as the API shows it (no secret)."""
    keys = ("id", "url", "created_at", "disabled_at")
    return {k: getattr(subscription, k) for k in keys} | {"kinds": sorted(subscription.kind_set)}


def delivery_item(delivery: WebhookDelivery, alert: Alert) -> dict[str, Any]:
    """A delivery as the API shows it."""
    keys = (
        "id", "alert_id", "status", "attempts", "last_status_code", "last_error",
        "created_at", "last_attempt_at", "delivered_at",
    )  # fmt: skip
    return {k: getattr(delivery, k) for k in keys} | {"kind": alert.kind}

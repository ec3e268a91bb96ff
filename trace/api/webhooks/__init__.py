"""Webhook subscriptions of the API (administrators)."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the webhook resources."""
    from trace.api.webhooks.routes import blp

    api.register_blueprint(blp)

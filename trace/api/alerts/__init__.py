"""The alert feed of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the alert resources."""
    from trace.api.alerts.routes import blp

    api.register_blueprint(blp)

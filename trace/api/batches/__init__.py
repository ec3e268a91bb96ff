"""Lot (batch) resources of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the lot resources."""
    from trace.api.batches.routes import blp

    api.register_blueprint(blp)

"""Inspection resources of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the inspection resources."""
    from trace.api.inspections.routes import blp

    api.register_blueprint(blp)

"""exports resources of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the exports resources."""
    from trace.api.exports.routes import blp

    api.register_blueprint(blp)

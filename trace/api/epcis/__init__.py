"""epcis resources of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the epcis resources."""
    from trace.api.epcis.routes import blp

    api.register_blueprint(blp)

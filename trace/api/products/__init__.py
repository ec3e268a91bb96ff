"""Product and producer search resources of the API."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Register the product and producer resources."""
    from trace.api.products.routes import blp

    api.register_blueprint(blp)

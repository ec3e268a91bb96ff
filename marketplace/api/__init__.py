"""The listings resource on the inspector API (``routes`` + ``schemas``, as in trace/api/)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the listings routes on the registry's API (``trace.api`` is set up first)."""
    from marketplace.api.routes import blueprint
    from trace.extensions import api

    api(app).register_blueprint(blueprint())

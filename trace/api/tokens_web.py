"""Token pages: admins issue inspector tokens, farmers their integration tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the token pages."""

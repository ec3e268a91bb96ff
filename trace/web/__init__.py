"""The server-rendered pages: farmers' forms, the admin screens, error pages."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect

from trace.db import get_session
from trace.models import User
from trace.services import accounts
from trace.web.forms import EVENT_LABELS

csrf = CSRFProtect()
login_manager = LoginManager()


def init_app(app: Flask) -> None:
    """Register the blueprints, CSRF protection, login, error handling and security headers."""
    from trace.web import admin, auth, errors, farm, health, lots, security, throttle

    csrf.init_app(app)
    if "chain_rpc" in app.blueprints:  # JSON-RPC for verifiers: no cookies, no forms
        csrf.exempt(app.blueprints["chain_rpc"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    login_manager.user_loader(_load_user)
    for module in (auth, farm, lots, admin, health):
        app.register_blueprint(module.bp)
    throttle.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    app.context_processor(_template_globals)


def _load_user(session_id: str) -> User | None:
    # The id carries the session version: a logout or password change revokes it.
    return accounts.load_session_user(get_session(), session_id)


def _template_globals() -> dict[str, object]:
    locale = str(get_locale() or "vi")
    return {
        "lang": locale,
        "other_lang": "en" if locale == "vi" else "vi",
        "current_path": request.full_path.rstrip("?"),
        "user": current_user,
        "event_labels": EVENT_LABELS,
    }

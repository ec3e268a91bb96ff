"""Language selection (Vietnamese by default, English on request) through Flask-Babel."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, lazy_gettext

_l = lazy_gettext

LANG_COOKIE = "lang"


def select_locale() -> str:
    """Pick the page language: ``?lang=``, then the cookie, then Vietnamese (CLI: English)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return "en"  # command-line output for operators
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    default: str = current_app.config["BABEL_DEFAULT_LOCALE"]
    return default


def init_app(app: Flask) -> None:
    """Register Flask-Babel with the project's translations folder."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")

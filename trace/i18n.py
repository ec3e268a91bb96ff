"""Language selection (Vietnamese by default, English on request) through Flask-Babel."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale, lazy_gettext

_l = lazy_gettext

LANG_COOKIE = "lang"


def select_locale() -> str:
    """Pick the page language: ``?lang=``, then the cookie, then Vietnamese (CLI: English)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return "en"  # command-line output for operators
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in languages:
            return candidate
    default: str = current_app.config["BABEL_DEFAULT_LOCALE"]
    return default


def format_quantity(value: Decimal | float | int | None) -> str:
    """A quantity as people write it: "1.200" in Vietnamese, "1,200" in English.

    No exponent (``Decimal("1.2E+3")`` prints 1.200), and decimals only when they are not
    zero (12.500 prints 12,5), every significant one kept.
    """
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    # Flask-Babel's own format_decimal cannot keep every significant decimal.
    locale = get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]
    return format_decimal(number.normalize(), locale=locale, decimal_quantization=False)


def init_app(app: Flask) -> None:
    """Register Flask-Babel with the project's translations folder, and the quantity filter."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.add_template_filter(format_quantity, "quantity")

"""One place that turns errors into pages: domain errors, HTTP errors, and the unexpected."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from trace.errors import Conflict, NotFound, TraceError
from trace.i18n import _l

log = logging.getLogger(__name__)

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please log in"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    409: _l("Not possible right now"),
    413: _l("The file is too large"),
    422: _l("Please check the form"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
HINTS = {
    400: _l("Go back, reload the page and try again."),
    404: _l("The address may be mistyped, or the item belongs to someone else."),
    413: _l("Upload a file of at most 5 MB."),
    500: _l("The error has been logged. Please try again in a moment."),
}


def init_app(app: Flask) -> None:
    """Register the handlers; no stack trace ever reaches a user."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(NotFound, lambda _e: error_page(404))
    app.register_error_handler(Conflict, lambda e: error_page(409, str(e)))
    app.register_error_handler(TraceError, lambda e: error_page(e.status, str(e)))
    app.register_error_handler(HTTPException, lambda e: error_page(e.code or 500))
    app.register_error_handler(Exception, _unexpected)


def error_page(status: int, detail: str | None = None) -> ResponseReturnValue:
    """The error page for ``status``, in the user's language."""
    title = TITLES.get(status, TITLES[400] if status < 500 else TITLES[500])
    hint = detail or HINTS.get(status, "")
    return render_template("errors/error.html", status=status, title=title, hint=hint), status


def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return error_page(
        400,
        str(
            _l(
                "The form expired or was not sent from this site. "
                "Reload the page and send it again."
            )
        ),
    )


def _unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error", exc_info=error)
    return error_page(500)

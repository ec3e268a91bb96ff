"""One place that turns errors into pages: domain errors, HTTP errors, and the unexpected."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from trace.db import get_session
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
DISK_FULL_TITLE = _l("Your change could not be saved")
DISK_FULL_HINT = _l(
    "The server has run out of storage space. Nothing was saved and your earlier data is "
    "safe. Please try again later; if it keeps happening, tell the administrator."
)
UNAVAILABLE_HINT = _l(
    "The database is briefly out of reach. Nothing was saved. Please try again in a few seconds."
)
#: PostgreSQL going away: connection exceptions (class 08), shut down or starting up (57P0x).
UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03")
UNAVAILABLE_MESSAGES = (
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "the database system is",
    "database is locked",  # SQLite: another writer held the lock past the busy timeout
)
#: How SQLite and PostgreSQL report a full disk (PostgreSQL's SQLSTATE is 53100).
DISK_FULL_MESSAGES = ("database or disk is full", "No space left on device")
DISK_FULL_SQLSTATE = "53100"


def init_app(app: Flask) -> None:
    """Register the handlers; no stack trace ever reaches a user."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(NotFound, lambda _e: error_page(404))
    app.register_error_handler(Conflict, lambda e: error_page(409, str(e)))
    app.register_error_handler(TraceError, lambda e: error_page(e.status, str(e)))
    app.register_error_handler(HTTPException, lambda e: error_page(e.code or 500))
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(Exception, _unexpected)


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
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
    if "db_session" in g:  # a failed flush leaves the session unusable for the page itself
        g.db_session.rollback()
    return error_page(500)


@dataclass(frozen=True)
class Outage:
    """A database error that is not a bug: what to tell the user and when to come back."""

    title: Any
    hint: Any
    slug: str
    retry_after: str


DISK_FULL = Outage(DISK_FULL_TITLE, DISK_FULL_HINT, "disk-full", "300")
UNAVAILABLE = Outage(TITLES[503], UNAVAILABLE_HINT, "database-unavailable", "5")


def database_outage(error: Exception) -> Outage | None:
    """A full disk or a database out of reach (both 503s, pages and API alike), else None."""
    if not isinstance(error, OperationalError):
        return None
    if is_disk_full(error):
        return DISK_FULL
    return UNAVAILABLE if is_unavailable(error) else None


def _database_error(error: OperationalError) -> ResponseReturnValue:
    """A full disk or a database out of reach is a 503 said plainly; anything else a 500."""
    outage = database_outage(error)
    if outage is None:
        return _unexpected(error)
    log.error("database %s: %s", outage.slug, error.orig)
    if outage is UNAVAILABLE:
        _drop_session()
    else:
        get_session().rollback()  # the page itself reads (the logged-in user, say)
    page = render_template("errors/error.html", status=503, title=outage.title, hint=outage.hint)
    return page, 503, {"Retry-After": outage.retry_after}


def _drop_session() -> None:
    """Forget the request's session and user: reading either would fail again."""
    from trace.web import login_manager

    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
            session.close()
        except SQLAlchemyError:  # the connection is already gone
            log.debug("closing a session whose database is out of reach", exc_info=True)
    g._login_user = login_manager.anonymous_user()  # the menu shows the logged-out view


def is_unavailable(error: OperationalError) -> bool:
    """Whether the database could not be reached (restarting, gone, or locked too long)."""
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None) or ""
    if state.startswith("08") or state in UNAVAILABLE_SQLSTATES:
        return True
    text = str(error.orig)
    return any(message in text for message in UNAVAILABLE_MESSAGES)


def is_disk_full(error: OperationalError) -> bool:
    """Whether the database refused a write because its disk is full."""
    if getattr(error.orig, "sqlstate", None) == DISK_FULL_SQLSTATE:
        return True
    return any(message in str(error.orig) for message in DISK_FULL_MESSAGES)

"""The flask-smorest Api and Blueprint of the inspector API, with problem+json errors."""

from __future__ import annotations

from typing import Any

import flask_smorest
from werkzeug.exceptions import HTTPException

from trace.api.problems import ProblemSchema, from_http_exception, from_trace_error, unexpected
from trace.errors import TraceError

BEARER = "bearerAuth"


class ApiBlueprint(flask_smorest.Blueprint):
    """A resource's blueprint: any error raised in its views becomes a problem+json."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_error_handler(TraceError, from_trace_error)
        self.register_error_handler(HTTPException, from_http_exception)
        self.register_error_handler(Exception, unexpected)


class ProblemApi(flask_smorest.Api):
    """The Api object (``app.extensions["api"]``); packages register ApiBlueprints on it."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled per API blueprint; the HTML pages keep the app's handlers."""

    def register_blueprint(self, blp: flask_smorest.Blueprint, **options: Any) -> None:
        """Register a resource; bearer-token requests carry no cookie, so no CSRF token."""
        from trace.web import csrf

        super().register_blueprint(blp, **options)
        csrf.exempt(blp)

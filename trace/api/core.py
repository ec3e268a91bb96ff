"""The flask-smorest Api and Blueprint of the inspector API, with problem+json errors."""

from __future__ import annotations

from typing import Any, NoReturn

import flask_smorest
from flask import Request
from marshmallow import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from trace import request_limits
from trace.api.fields import MAX_ID
from trace.api.problems import ProblemSchema, from_http_exception, from_trace_error, unexpected
from trace.errors import NotFound, TraceError

BEARER = "bearerAuth"


class StrictParser(FlaskParser):
    """Query parameters a resource does not know are refused (422), as the OpenAPI
    document says: a mistyped or unsupported filter must not silently widen a result."""

    DEFAULT_UNKNOWN_BY_LOCATION = FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION | {
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: Request) -> Any:
        """Decode through the app's JSON provider, which bounds nesting (webargs would
        call ``json.loads`` itself)."""
        if not is_json_request(req):
            return missing
        return request_limits.loads(req.get_data(cache=True))

    def _handle_invalid_json_error(
        self, error: Any, req: Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        too_deep = isinstance(error, request_limits.JSONTooDeep)
        message = str(error) if too_deep else "Invalid JSON body."
        abort(400, exc=error, messages={"json": [message]})


class ApiBlueprint(flask_smorest.Blueprint):
    """A resource's blueprint: any error raised in its views becomes a problem+json."""

    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_error_handler(TraceError, from_trace_error)
        self.register_error_handler(HTTPException, from_http_exception)
        self.register_error_handler(Exception, unexpected)
        self.url_value_preprocessor(_ids_in_range)


def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in the path beyond what the database stores names no object."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound()


class ProblemApi(flask_smorest.Api):
    """The Api object (:func:`trace.extensions.api`); packages register ApiBlueprints on it."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled per API blueprint; the HTML pages keep the app's handlers."""

    def register_blueprint(self, blp: flask_smorest.Blueprint, **options: Any) -> None:
        """Register a resource; bearer-token requests carry no cookie, so no CSRF token."""
        from trace.web import csrf

        super().register_blueprint(blp, **options)
        csrf.exempt(blp)

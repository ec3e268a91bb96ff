"""RFC 9457 problem details: every API error, domain or HTTP, as application/problem+json."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, request
from flask_babel import force_locale
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from trace.errors import TraceError, ValidationError
from trace.i18n import _l

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://agritrace.example/problems/"
TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Request too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
    500: _l("Internal error"),
    503: _l("Temporarily unavailable"),
}
SLUGS = {401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid"}


class ProblemFieldSchema(Schema):
    """One field-level message of an invalid request."""

    pointer = fields.String(
        required=True, metadata={"description": "JSON pointer to the field, e.g. `#/count`."}
    )
    location = fields.String(metadata={"description": "json, query, form, files or path."})
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem details object."""

    type = fields.String(required=True, metadata={"description": "A URI naming the problem."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String(metadata={"description": "The request path."})
    errors = fields.List(fields.Nested(ProblemFieldSchema))


def problem(
    status: int,
    detail: Any = None,
    *,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a problem+json response; texts in English unless Accept-Language asks for vi."""
    with force_locale(api_locale()):
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + (slug or SLUGS.get(status, str(status))),
            "title": str(TITLES.get(status, TITLES[500 if status >= 500 else 400])),
            "status": status,
            "instance": request.path,
        }
        if detail:
            body["detail"] = str(detail)
        if errors:
            body["errors"] = [{k: str(v) for k, v in e.items()} for e in errors]
        text = json.dumps(body, ensure_ascii=False)
    response = Response(text, status=status, content_type=PROBLEM_JSON)
    response.headers.update(dict(headers or {}))
    return response


def api_locale() -> str:
    best = request.accept_languages.best_match(["en", "vi"], default="en")
    return best or "en"


def from_trace_error(error: TraceError) -> Response:
    """A domain error as a problem; ``ValidationError`` lists each field's message."""
    if isinstance(error, ValidationError):
        errors = [
            {"pointer": f"#/{field}", "detail": message} for field, message in error.errors.items()
        ]
        return problem(422, _l("Some fields are invalid."), errors=errors)
    headers = dict(getattr(error, "headers", None) or {})
    listed: list[dict[str, Any]] | None = getattr(error, "field_errors", None)
    if error.status == 401:
        challenge = 'Bearer realm="AgriTrace API"'
        if "Authorization" in request.headers:
            challenge += ', error="invalid_token"'
        headers["WWW-Authenticate"] = challenge
    detail = error.args[0] if error.args else None  # lazy text, resolved in the API locale
    slug = getattr(error, "slug", None)
    return problem(error.status, detail, slug=slug, errors=listed, headers=headers)


def from_http_exception(error: HTTPException) -> Response:
    """A werkzeug/webargs HTTP error as a problem, with webargs' field messages."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:
        return problem(status, _l("Some fields are invalid."), errors=field_errors(messages))
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    detail = None if status >= 500 else error.description
    return problem(status, detail, headers=headers)


def field_errors(messages: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten webargs' ``{location: {field: [messages]}}`` into RFC 9457 error entries."""
    out: list[dict[str, Any]] = []
    for location, by_field in messages.items():
        _flatten(out, location, "#", by_field)
    return out


def _flatten(out: list[dict[str, Any]], location: str, pointer: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, nested in value.items():
            _flatten(out, location, f"{pointer}/{key}", nested)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        out.extend({"pointer": pointer, "location": location, "detail": v} for v in value)
    else:
        out.append({"pointer": pointer, "location": location, "detail": str(value)})


def unexpected(error: Exception) -> Response:
    """Log an unhandled error; the client sees a bare 500 problem (503 for a database outage)."""
    from trace.web.errors import database_outage

    outage = database_outage(error)
    if outage is not None:
        log.error("database %s (%s)", outage.slug, getattr(error, "orig", error))
        headers = {"Retry-After": outage.retry_after}
        return problem(503, outage.hint, slug=outage.slug, headers=headers)
    log.exception("unhandled API error", exc_info=error)
    return from_http_exception(InternalServerError())

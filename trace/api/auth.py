"""Bearer-token authentication of API requests, and the caller it yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import flask_smorest
from flask import g, request

from trace.api.core import BEARER
from trace.api.problems import PROBLEM_JSON, ProblemSchema
from trace.db import get_session
from trace.i18n import _l
from trace.models import User
from trace.models.tokens import ApiToken
from trace.services import tokens
from trace.services.access import Actor
from trace.services.accounts import actor_for

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Caller:
    """Who sent an API request: the token, its user, and the service-layer actor."""

    token: ApiToken
    user: User
    actor: Actor


def authenticate(scope: str) -> Caller:
    """Check the request's bearer token and its scope.

    :raises InvalidToken: no bearer token, or an unknown, expired or revoked one (401).
    :raises MissingScope: the token lacks ``scope`` (403).
    """
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise tokens.InvalidToken(_l("Send an API token as 'Authorization: Bearer <token>'."))
    token, user = tokens.authenticate(get_session(), secret.strip())
    tokens.require_scope(token, scope)
    return Caller(token, user, actor_for(user))


def caller() -> Caller:
    """The authenticated caller of the current request."""
    found: Caller = g.api_caller
    return found


def actor() -> Actor:
    """The current caller as a service-layer actor."""
    return caller().actor


def requires(blp: flask_smorest.Blueprint, scope: str) -> Callable[[F], F]:
    """Require a bearer token with ``scope`` before anything else; document 401 and 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.api_caller = authenticate(scope)
            return view(*args, **kwargs)

        documented = blp.doc(security=[{BEARER: []}])(wrapper)
        documented = errors(blp, 401)(documented)
        return errors(blp, 403, f"The token lacks the `{scope}` scope.")(documented)  # type: ignore[no-any-return]

    return decorate


DESCRIPTIONS = {
    400: "The request is malformed.",
    401: "No bearer token, or an unknown, expired or revoked one.",
    403: "The token may not do this.",
    404: "No such object, or it belongs to another producer.",
    409: "The request conflicts with the current state.",
    422: "Invalid input; `errors` lists each field's message.",
}


def errors(blp: flask_smorest.Blueprint, *codes: int | str) -> Callable[[F], F]:
    """Document problem+json error responses; ``errors(blp, 403, "why")`` sets a text."""
    texts = [c for c in codes if isinstance(c, str)]

    def decorate(view: F) -> F:
        for code in (c for c in codes if isinstance(c, int)):
            view = blp.alt_response(
                code,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=texts[0] if texts else DESCRIPTIONS.get(code, ""),
            )(view)
        return view

    return decorate

"""Bearer-token authentication of API requests, and the caller it yields."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import flask_smorest
from flask import current_app, g, request

from trace.api.core import BEARER
from trace.api.problems import PROBLEM_JSON, ProblemSchema
from trace.db import get_session
from trace.extensions import api_callers
from trace.i18n import _l
from trace.models import User
from trace.models.base import utcnow
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
    found = _cached(secret.strip())
    tokens.require_scope(found.token, scope)
    return found


def _cached(secret: str) -> Caller:
    """The caller for a token secret, kept ``API_TOKEN_CACHE_SECONDS`` per worker.

    Inspectors' scripts send the same token thousands of times a minute; a cached caller
    saves the token and user look-ups. A revoked or disabled token is refused by every
    worker within that many seconds (0 turns the cache off; tests run with 0 by default).
    """
    ttl = float(current_app.config["API_TOKEN_CACHE_SECONDS"])  # trace.config
    cache = api_callers(current_app)
    key = tokens.hash_token(secret)
    now = time.monotonic()
    kept = kept_caller(cache, key, now)
    session = get_session()
    if kept is None:
        token, user = tokens.authenticate(session, secret)
        if ttl <= 0:
            return Caller(token, user, actor_for(user))
        # Detached copies for later requests: this session's end must not expire them.
        session.expunge(token)
        session.expunge(user)
        if len(cache) > 10_000:
            cache.clear()
        kept = Caller(token, user, actor_for(user))
        cache[key] = (now + ttl, kept)
    # This request's own instances, without a query (merge without load).
    token, user = session.merge(kept.token, load=False), session.merge(kept.user, load=False)
    return Caller(token, user, kept.actor)


def kept_caller(cache: dict[str, tuple[float, Caller]], key: str, now: float) -> Caller | None:
    """The caller this worker keeps for a token hash, while the entry (``now``: monotonic
    seconds) and the token itself are still valid; else None (authenticate afresh)."""
    hit = cache.get(key)
    if hit is None or hit[0] <= now or _expired(hit[1].token):
        return None
    return hit[1]


def _expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= utcnow()


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

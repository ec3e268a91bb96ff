"""The inspector's verdict and proof bundle on the hot path: a WSGI dispatcher in front of
Flask for ``GET /api/v1/stamps/{serial}`` and ``GET /api/v1/stamps/{serial}/proof``.

An inspector's script asks these thousands of times a minute with one token. Through Flask
each answer cost ~0.6 ms (verdict) and ~0.9 ms (proof) of a worker's CPU, of which the
stamp's own work (:mod:`stamps.api_lean`) was a quarter: the rest was the request context,
the session, the limiter's look-up (no limit applies to these routes), merging the cached
token into a session, the schema's wrapper and the response hooks. Here the same answer is
built from the same parts:

- the caller is the one the full path authenticated and keeps for
  ``API_TOKEN_CACHE_SECONDS`` (:func:`trace.api.auth._cached`): a token this worker has not
  seen in that time, one that expired, or one without the ``read`` scope goes to Flask,
  which answers (and refuses) as always, and keeps the caller for the next request;
- the body is :mod:`stamps.api_lean`'s answer dumped through the route's own schema and
  the app's JSON provider (sorted keys, as ``jsonify``), with the headers every response
  carries: the same bytes as the full path (``tests/stamps/test_inspector_hotpath.py``);
- anything else (a query string, cookies, another method, a stamp the lean path declines:
  unknown, another producer's, flagged, a lot read afresh, no anchored version) is Flask's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from marshmallow import Schema

from stamps.api_lean import lean_proof, lean_verdict
from stamps.api_schemas import ProofBundleSchema, StampVerdictSchema
from stamps.extensions import proof_trees, story_cache
from stamps.proofs import rpc_hint_for
from trace.api.auth import kept_caller
from trace.extensions import api_callers, chain_client
from trace.models.tokens import Scope
from trace.services.tokens import hash_token
from trace.web.security import HEADERS, HSTS

log = logging.getLogger(__name__)
PREFIX = "/api/v1/stamps/"
PROOF = "/proof"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class HotInspector:
    """The dispatcher: answers what it can, hands the rest to ``app`` (Flask's WSGI app)."""

    def __init__(self, flask_app: Flask, wsgi_app: WSGIApp) -> None:
        self.flask = flask_app
        self.app = wsgi_app
        self.callers = api_callers(flask_app)
        self.stories = story_cache(flask_app)
        self.trees = proof_trees(flask_app)
        self.verdict_schema: Schema = StampVerdictSchema()
        self.proof_schema: Schema = ProofBundleSchema()
        self.answered = 0  # requests this worker answered itself (the rest went to Flask)
        headers = {**HEADERS, "Vary": "Cookie"}  # as trace.web.security adds them
        if flask_app.config["AGRITRACE_ENV"] == "production":
            headers["Strict-Transport-Security"] = HSTS
        self.headers = list(headers.items())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX) or environ["REQUEST_METHOD"] != "GET":
            return self.app(environ, start_response)
        try:
            body = self.serve(environ, path[len(PREFIX) :])
        except Exception:  # noqa: BLE001 - the full path answers (and reports) instead
            log.exception("inspector hot path failed; the full path answers")
            body = None
        if body is None:
            return self.app(environ, start_response)
        self.answered += 1
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", [*headers, *self.headers])
        return [body]

    def serve(self, environ: Mapping[str, Any], rest: str) -> bytes | None:
        """The answer's body, or None: Flask answers."""
        if environ.get("QUERY_STRING") or environ.get("HTTP_COOKIE"):
            return None
        proof = rest.endswith(PROOF)
        serial = rest[: -len(PROOF)] if proof else rest
        if not serial or "/" in serial:
            return None
        actor = self._actor(environ.get("HTTP_AUTHORIZATION", ""))
        if actor is None:
            return None
        app = self.flask
        if proof:
            hint = rpc_hint_for(app.config, chain_client(app))
            bundle = lean_proof(app, actor, serial, self.stories, self.trees, hint)
            return None if bundle is None else self._dump(self.proof_schema, bundle)
        verdict = lean_verdict(app, actor, serial, self.stories)
        return None if verdict is None else self._dump(self.verdict_schema, verdict)

    def _actor(self, authorization: str) -> Any:
        """The cached caller's actor when its token may read, else None (Flask decides)."""
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        kept = kept_caller(self.callers, hash_token(secret.strip()), time.monotonic())
        if kept is None or Scope.READ not in kept.token.scope_set:
            return None
        return kept.actor

    def _dump(self, schema: Schema, answer: Mapping[str, Any]) -> bytes:
        """What ``@blp.response(schema)`` sends: the dump, as ``jsonify`` writes it."""
        response: Any = self.flask.json.response(schema.dump(answer))
        return bytes(response.get_data())

"""What every sandbox shares: dispatch, admin endpoint, faults, rate limits, validation."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from marketplace.sandbox import store
from marketplace.sandbox.faults import (
    DROP,
    DROP_AFTER_COMMIT,
    LATENCY,
    SERVER_ERROR,
    TIMEOUT_AFTER_COMMIT,
    WRITES,
    Faults,
    RateLimit,
)
from marketplace.sandbox.store import Store

ADMIN_HEADER = "X-Sandbox-Admin"
NUMBER = re.compile(r"/\d+")
MAX_BODY = 64 * 1024
Handler = Callable[..., Response]
Write = Callable[[sqlite3.Connection], tuple[int, Any]]


class ApiError(Exception):
    """An error answer: HTTP status, a machine code, a message and per-field details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.fields = status, code, fields or {}
        self.retry_after = retry_after


class Checks:
    """Collects field errors, then raises one 4xx ``ApiError`` listing them all."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def fail(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def text(self, body: dict[str, Any], name: str, most: int, least: int = 1) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not least <= len(value.strip()) <= most:
            self.fail(name, f"text of {least} to {most} characters")
            return ""
        return value.strip()

    def integer(self, body: dict[str, Any], name: str, least: int, most: int) -> int:
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            self.fail(name, f"an integer from {least} to {most}")
            return 0
        return value

    def url(self, value: Any, name: str) -> str:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            self.fail(name, "an http(s) URL")
            return ""
        return value

    def items(self, body: dict[str, Any], name: str, least: int, most: int) -> list[Any]:
        value = body.get(name, [])
        if not isinstance(value, list) or not least <= len(value) <= most:
            self.fail(name, f"a list of {least} to {most} items")
            return []
        return value

    def done(self, status: int = 422, code: str = "validation") -> None:
        if self.fields:
            raise ApiError(status, code, "the request has invalid fields", self.fields)


class SandboxApp:
    """A WSGI marketplace: subclasses give routes, authentication and the error format."""

    name = "sandbox"

    def __init__(self, db_path: str | Path, admin_token: str = "sandbox-admin") -> None:
        self.store = Store(db_path)
        self.admin_token = admin_token
        self.faults = Faults()
        self.limits = RateLimit()
        self.requests = 0
        self.paths: dict[str, int] = {}  # requests by "METHOD /path/{id}", faults included
        self.url_map = Map(
            [Rule(path, endpoint=name, methods=m) for path, name, m in self.routes()]
        )

    # --- for subclasses ----------------------------------------------------------------

    def routes(self) -> Iterable[tuple[str, str, list[str]]]:
        """(path, handler method name, methods) of the marketplace API."""
        return ()

    def authenticate(self, request: Request) -> str:
        """The shop or partner making the request. :raises ApiError: 401/403."""
        raise ApiError(401, "unauthorized", "no credentials")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"code": error.code, "message": str(error), "fields": error.fields}

    def public_paths(self) -> tuple[str, ...]:
        """Paths served without authentication (e.g. the token endpoint)."""
        return ()

    # --- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            # Read the body before any answer: an early one (a fault, 401, 429) that left it
            # unread would have the server parse it as the next request on a kept-alive
            # connection, and every answer after that would go to the wrong request.
            request.get_data()
        except HTTPException as error:
            response = self.fail(ApiError(error.code or 400, "http_error", error.name))
            response.headers["Connection"] = "close"
            return response(environ, start_response)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_admin/"):
            return self.admin(request)
        self.requests += 1
        key = request.method + " " + NUMBER.sub("/{id}", request.path)
        self.paths[key] = self.paths.get(key, 0) + 1
        fault = self.faults.draw(request.method, request.path)
        delay_ms = self.faults.latency_ms + (self.faults.spike_ms if fault == LATENCY else 0)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if fault == DROP:
            drop_connection(request)
        if fault == SERVER_ERROR:
            return self.fail(ApiError(500, "internal_error", "injected server error"))
        response = self.handle(request)
        if request.method in WRITES and fault == TIMEOUT_AFTER_COMMIT:
            time.sleep(self.faults.hang_seconds)  # the caller gives up before the answer
        if request.method in WRITES and fault == DROP_AFTER_COMMIT:
            drop_connection(request)
        return response

    def handle(self, request: Request) -> Response:
        try:
            endpoint, matched = self.url_map.bind_to_environ(request.environ).match()
            args = dict(matched)
            if request.path not in self.public_paths():
                caller = self.authenticate(request)
                wait = self.limits.take(caller)
                if wait is not None:
                    raise ApiError(429, "rate_limited", "too many requests", retry_after=wait)
                args["caller"] = caller
            handler: Handler = getattr(self, f"on_{endpoint}")
            return handler(request, **args)
        except ApiError as error:
            return self.fail(error)
        except HTTPException as error:
            return self.fail(ApiError(error.code or 500, "http_error", error.name))

    def fail(self, error: ApiError) -> Response:
        response = json_response(self.error_body(error), error.status)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    def idempotent(self, request: Request, shop: str, header: str, write: Write) -> Response:
        """Run ``write`` once per idempotency key; a retry gets the first answer back.

        The key is scoped to the shop; reusing it for a different request is refused.
        """
        key = request.headers.get(header, "")
        if len(key) > 100:
            raise ApiError(422, "idempotency_key", f"{header} is at most 100 characters")
        fingerprint = hashlib.sha256(
            request.method.encode() + request.path.encode() + request.get_data()
        ).hexdigest()
        with self.store.write() as conn:
            if key and (seen := store.replay(conn, shop, key)) is not None:
                if seen["fingerprint"] != fingerprint:
                    raise ApiError(422, "idempotency_key", f"{header} reused for another request")
                return json_response(json.loads(seen["body"]), seen["status"])
            status, body = write(conn)
            if key:
                store.remember(conn, shop, key, fingerprint, status, body)
        return json_response(body, status)

    # --- admin ---------------------------------------------------------------------------

    def admin(self, request: Request) -> Response:
        token = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(token, self.admin_token):
            return json_response({"error": "admin token required"}, 401)
        if request.path == "/_admin/reset" and request.method == "POST":
            self.reset()
        elif request.path == "/_admin/config" and request.method == "POST":
            try:
                self.configure(request.get_json(force=True) or {})
            except (TypeError, ValueError) as error:
                return json_response({"error": str(error)}, 400)
        elif request.path == "/_admin/listings" and request.method == "GET":
            return json_response({"listings": self.all_listings()})
        elif request.path != "/_admin/stats":
            answer = self.admin_extra(request)
            return answer or json_response({"error": "unknown admin endpoint"}, 404)
        return json_response(self.stats())

    def admin_extra(self, request: Request) -> Response | None:
        """A style's own admin endpoints (already authorized); None when unknown."""
        return None

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply fault settings and ``rate_limit`` ({capacity, per_second})."""
        self.faults.configure(settings)
        if "rate_limit" in settings:
            self.limits.configure(settings["rate_limit"])

    def reset(self) -> None:
        """Forget every listing, token, fault and counter; default rate limits."""
        self.store.wipe()
        self.faults = Faults()
        self.limits = RateLimit()
        self.requests = 0
        self.paths = {}

    def stats(self) -> dict[str, Any]:
        with self.store.read() as conn:
            count = conn.execute("SELECT count(*) FROM listings").fetchone()[0]
        return {
            "requests": self.requests,
            "faults": self.faults.injected,
            "listings": count,
            "paths": dict(self.paths),
        }

    def all_listings(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM listings ORDER BY id").fetchall()
        return [{**dict(row), "doc": json.loads(row["doc"])} for row in rows]


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer that keeps Vietnamese text readable."""
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object. :raises ApiError: 400 when the body is not one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


def drop_connection(request: Request) -> None:
    """Close the client's socket without an answer (the server then forgets the request)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("sandbox dropped the connection on purpose")

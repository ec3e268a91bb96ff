"""Login throttling: Flask-Limiter limits per client and per account, and a growing lockout.

Three layers, all counting failed logins only (a farmer who logs in is never slowed):

- per client address: ``LOGIN_CLIENT_LIMIT`` (Flask-Limiter, on the login route);
- per account (the email typed, known or not): ``LOGIN_ACCOUNT_LIMIT`` (Flask-Limiter);
- per account, a lockout that doubles: after ``LOGIN_LOCKOUT_AFTER`` failures the account
  waits ``LOGIN_LOCKOUT_SECONDS``, then twice as long after each further failure, up to
  ``LOGIN_LOCKOUT_MAX_SECONDS``; a successful login forgets the failures.

Unknown emails are counted exactly like known ones, so throttling tells nobody which
accounts exist. Counts live in ``RATELIMIT_STORAGE_URI`` (memory per process by default;
point it at Redis to share them between gunicorn workers).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, Response, current_app, make_response, render_template, request
from flask_limiter import Limiter, RequestLimit
from limits.storage import Storage

from trace.extensions import login_lockout, set_login_lockout, set_rate_limiter
from trace.i18n import _l


@dataclass(frozen=True)
class LoginLockout:
    """Failed logins per account, with a lockout that doubles after each further failure."""

    storage: Storage
    after: int
    first_seconds: int
    max_seconds: int
    memory_seconds: int

    def seconds_left(self, email: str) -> int:
        """How long this account must still wait before a login is tried (0: not locked)."""
        key = self._key("lock", email)
        if not self.storage.get(key):
            return 0
        return max(1, math.ceil(self.storage.get_expiry(key) - time.time()))

    def failed(self, email: str) -> int:
        """Count a failed login; returns the lockout it starts in seconds (0: none)."""
        failures = self.storage.incr(self._key("failures", email), self.memory_seconds)
        if failures < self.after:
            return 0
        seconds = min(self.first_seconds * 2 ** (failures - self.after), self.max_seconds)
        lock = self._key("lock", email)
        self.storage.clear(lock)
        self.storage.incr(lock, seconds)
        return seconds

    def succeeded(self, email: str) -> None:
        """Forget the account's failures (the right password outside a lockout)."""
        self.storage.clear(self._key("failures", email))

    @staticmethod
    def _key(kind: str, email: str) -> str:
        # Hashed, so the limiter storage (e.g. Redis) holds no email addresses.
        digest = hashlib.sha256(normalized_email(email).encode()).hexdigest()
        return f"agritrace/login-{kind}/{digest}"


def init_app(app: Flask) -> None:
    """Rate-limit failed logins and registrations; keep the lockout in the same storage."""
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        # No X-RateLimit-* headers: reading the window back costs a storage round trip.
        headers_enabled=False,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    set_rate_limiter(app, limiter)
    login: Callable[..., Any] = app.view_functions["auth.login"]
    for limit, key_func in (
        ("LOGIN_CLIENT_LIMIT", None),
        ("LOGIN_ACCOUNT_LIMIT", _account_key),
    ):
        login = limiter.limit(
            _setting(limit),
            key_func=key_func,
            methods=["POST"],
            deduct_when=_failed_login,
            on_breach=_refused_login,
        )(login)
    register = limiter.limit(
        _setting("REGISTER_CLIENT_LIMIT"),
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 302,
        on_breach=_refused_registration,
    )(cast(Callable[..., Any], app.view_functions["auth.register"]))
    # Decorated limits are checked by the decorated function, so it must be the view.
    app.view_functions.update({"auth.login": login, "auth.register": register})
    set_login_lockout(
        app,
        LoginLockout(
            limiter.storage,
            after=int(app.config["LOGIN_LOCKOUT_AFTER"]),
            first_seconds=int(app.config["LOGIN_LOCKOUT_SECONDS"]),
            max_seconds=int(app.config["LOGIN_LOCKOUT_MAX_SECONDS"]),
            memory_seconds=int(app.config["LOGIN_FAILURE_MEMORY_SECONDS"]),
        ),
    )


def lockout() -> LoginLockout:
    """The current app's login lockout."""
    return login_lockout(current_app)


def normalized_email(email: str) -> str:
    """The email as accounts are looked up (trimmed, lower case)."""
    return (email or "").strip().lower()


def client_address() -> str:
    """The client's address as the server sees it."""
    return request.remote_addr or "unknown"


def too_many_logins(form: object, seconds: int) -> Response:
    """The login page refusing a throttled login: 429, a message and ``Retry-After``."""
    minutes = max(1, math.ceil(seconds / 60))
    message = _l(
        "Too many failed log-ins. To protect the account, wait %(minutes)d min and try again.",
        minutes=minutes,
    )
    body = render_template("auth/login.html", form=form, errors=[str(message)])
    return _retry_after(make_response(body, 429), seconds)


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _account_key() -> str:
    return "account:" + (normalized_email(request.form.get("email", "")) or "-")


def _failed_login(response: object) -> bool:
    return getattr(response, "status_code", None) == 401


def _seconds_until(limit: RequestLimit) -> int:
    return max(1, int(limit.reset_at - time.time()))  # reset_at is already rounded up


def _refused_login(limit: RequestLimit) -> Response:
    from trace.web.forms import LoginForm

    return too_many_logins(LoginForm(), _seconds_until(limit))


def _refused_registration(limit: RequestLimit) -> Response:
    from trace.web.errors import error_page

    message = _l("Too many registrations from this network. Try again later.")
    return _retry_after(make_response(error_page(429, str(message))), _seconds_until(limit))


def _retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(max(1, seconds))
    return response

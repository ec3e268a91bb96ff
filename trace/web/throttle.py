"""Login throttling: Flask-Limiter limits per client and per account, and growing lockouts.

Three layers, all counting failed logins only (a farmer who logs in is never slowed):

- per client address: ``LOGIN_CLIENT_LIMIT`` (Flask-Limiter, on the login route);
- per account (the email typed, known or not): ``LOGIN_ACCOUNT_LIMIT`` (Flask-Limiter);
- per account, a lockout that doubles: after ``LOGIN_LOCKOUT_AFTER`` failures the account
  waits ``LOGIN_LOCKOUT_SECONDS``, then twice as long after each further failure, up to
  ``LOGIN_LOCKOUT_MAX_SECONDS``; a successful login forgets the failures.

A browser that logged in to the account before (a valid device cookie for the email typed,
``trace.web.device_cookies``) is exempt from both per-account layers: its failures count
against that device alone, which is locked out the same doubling way. So an attacker who
knows a farmer's email can lock out new devices, never the farmer's own browsers, and a
stolen device cookie still cannot guess on and on.

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
from werkzeug.wrappers import Response as BaseResponse

from trace.extensions import login_lockout, set_login_lockout, set_rate_limiter
from trace.i18n import _l
from trace.web.device_cookies import Device, device_for, give_device_cookie


@dataclass(frozen=True)
class LoginLockout:
    """Failed logins per account or per trusted device, with a lockout that doubles.

    Each method counts against ``device`` when one is given (a browser that proved it
    logged in to the account before), else against the account ``email``.
    """

    storage: Storage
    after: int
    first_seconds: int
    max_seconds: int
    memory_seconds: int

    def seconds_left(self, email: str, device: Device | None = None) -> int:
        """How long the account (or device) must still wait to try a login (0: not locked)."""
        key = self._key("lock", email, device)
        if not self.storage.get(key):
            return 0
        return max(1, math.ceil(self.storage.get_expiry(key) - time.time()))

    def failed(self, email: str, device: Device | None = None) -> int:
        """Count a failed login; returns the lockout it starts in seconds (0: none)."""
        failures = self.storage.incr(self._key("failures", email, device), self.memory_seconds)
        if failures < self.after:
            return 0
        seconds = min(self.first_seconds * 2 ** (failures - self.after), self.max_seconds)
        lock = self._key("lock", email, device)
        self.storage.clear(lock)
        self.storage.incr(lock, seconds)
        return seconds

    def succeeded(self, email: str, device: Device | None = None) -> None:
        """Forget the failures of the account, or of the device that logged in.

        A login from a trusted device leaves the account's count alone: the farmer
        logging in must not hand whoever is guessing a fresh set of tries.
        """
        self.storage.clear(self._key("failures", email, device))

    @staticmethod
    def _key(kind: str, email: str, device: Device | None) -> str:
        # Hashed, so the limiter storage (e.g. Redis) holds no email addresses.
        if device is not None:
            kind, name = f"device-{kind}", device.nonce
        else:
            name = normalized_email(email)
        return f"agritrace/login-{kind}/{hashlib.sha256(name.encode()).hexdigest()}"


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
    for limit, key_func, exempt_when, on_breach in (
        ("LOGIN_CLIENT_LIMIT", None, None, _refused_client),
        ("LOGIN_ACCOUNT_LIMIT", _account_key, _from_trusted_device, _refused_account),
    ):
        login = limiter.limit(
            _setting(limit),
            key_func=key_func,
            methods=["POST"],
            deduct_when=_failed_login,
            exempt_when=exempt_when,
            on_breach=on_breach,
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


def trusted_device(email: str) -> Device | None:
    """The device this request's device cookie proves for the account ``email``, or None."""
    return device_for(normalized_email(email))


def remember_device(response: BaseResponse, email: str) -> BaseResponse:
    """Give the browser a fresh device cookie for ``email`` (call after a successful login)."""
    give_device_cookie(response, normalized_email(email))
    return response


def client_address() -> str:
    """The client's address as the server sees it."""
    return request.remote_addr or "unknown"


def too_many_logins(form: object, seconds: int, device: Device | None = None) -> Response:
    """The login page refusing a locked-out login: 429, when to retry, ``Retry-After``.

    The account's lockout also says that a browser which logged in to the account before
    can still log in (unknown emails get the same words); a locked device only waits.
    """
    minutes = _minutes(seconds)
    if device is not None:
        locked = _l(
            "Too many failed log-ins from this device. To protect the account, "
            "try again in %(minutes)d min.",
            minutes=minutes,
        )
        return _refusal(form, seconds, [locked])
    paused = _l(
        "Too many failed log-ins for this email. Log-ins from new devices are paused: "
        "try again in %(minutes)d min.",
        minutes=minutes,
    )
    known_devices = _l(
        "On a phone or computer where you have logged in to this account before, "
        "you can still log in now."
    )
    return _refusal(form, seconds, [paused, known_devices])


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _account_key() -> str:
    return "account:" + (normalized_email(request.form.get("email", "")) or "-")


def _from_trusted_device() -> bool:
    return trusted_device(request.form.get("email", "")) is not None


def _failed_login(response: object) -> bool:
    return getattr(response, "status_code", None) == 401


def _seconds_until(limit: RequestLimit) -> int:
    return max(1, int(limit.reset_at - time.time()))  # reset_at is already rounded up


def _refused_client(limit: RequestLimit) -> Response:
    seconds = _seconds_until(limit)
    message = _l(
        "Too many failed log-ins. To protect the account, wait %(minutes)d min and try again.",
        minutes=_minutes(seconds),
    )
    return _refusal(_login_form(), seconds, [message])


def _refused_account(limit: RequestLimit) -> Response:
    return too_many_logins(_login_form(), _seconds_until(limit))


def _login_form() -> object:
    from trace.web.forms import LoginForm

    return LoginForm()


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _refusal(form: object, seconds: int, errors: list[Any]) -> Response:
    body = render_template("auth/login.html", form=form, errors=[str(e) for e in errors])
    return _retry_after(make_response(body, 429), seconds)


def _refused_registration(limit: RequestLimit) -> Response:
    from trace.web.errors import error_page

    message = _l("Too many registrations from this network. Try again later.")
    return _retry_after(make_response(error_page(429, str(message))), _seconds_until(limit))


def _retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(max(1, seconds))
    return response

"""Device cookies: a browser's signed proof that it logged in to an account before.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies" (Authentication Cheat
Sheet): a successful login leaves a long-lived cookie bound to the account (a keyed hash of
its email) and naming the browser with a random nonce, signed with the app's secret. A
login that presents a valid one for the account it tries is counted against that device
instead of the account (``trace.web.throttle``), so whoever knows a farmer's email cannot
lock the farmer out of the browsers they already use by typing wrong passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "login_device"
LIFETIME_SECONDS = 365 * 24 * 3600
_SALT = "agritrace.login-device"


@dataclass(frozen=True)
class Device:
    """A browser that logged in to the account before, named by its cookie's nonce."""

    nonce: str


def device_for(account: str) -> Device | None:
    """The device this request's cookie proves for ``account``, or None.

    A missing, forged or expired cookie, or one bound to another account, proves nothing.
    The check costs the same whether or not the account exists (no database read).

    :param account: the email typed, normalized (trimmed, lower case).
    """
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        claims = _serializer().loads(value, max_age=LIFETIME_SECONDS)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(claims, dict):
        return None
    bound, nonce = claims.get("a"), claims.get("n")
    if not isinstance(bound, str) or not isinstance(nonce, str) or not nonce:
        return None
    return Device(nonce) if hmac.compare_digest(bound, _account_digest(account)) else None


def give_device_cookie(response: Response, account: str) -> None:
    """Set a fresh device cookie for ``account`` (normalized email) on a login's response.

    HttpOnly, SameSite=Lax, sent only to the login page, and Secure when the app is served
    over HTTPS (or its session cookie is Secure).
    """
    claims = {"a": _account_digest(account), "n": secrets.token_urlsafe(16)}
    response.set_cookie(
        COOKIE,
        _serializer().dumps(claims),
        max_age=LIFETIME_SECONDS,
        path=url_for("auth.login"),
        secure=request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt=_SALT)


def _account_digest(account: str) -> str:
    # Keyed, so the cookie (readable by whoever holds it) does not reveal the email.
    return hmac.new(_secret(), b"login-device:" + account.encode(), hashlib.sha256).hexdigest()


def _secret() -> bytes:
    key = current_app.secret_key
    if not key:
        raise RuntimeError("device cookies need the app's SECRET_KEY")
    return key if isinstance(key, bytes) else str(key).encode()

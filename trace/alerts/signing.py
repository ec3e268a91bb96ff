"""Webhook signatures, Stripe style: ``X-AgriTrace-Signature: t=<unix>,v1=<hex>``.

``v1`` is the hex HMAC-SHA256, keyed with the subscription's secret, of the timestamp, a
dot and the exact body bytes. A receiver recomputes it and refuses old timestamps, so a
captured delivery cannot be replayed later. Pure functions: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-AgriTrace-Signature"
SCHEME = "v1"
#: How old a signed timestamp a receiver accepts by default (seconds).
TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header's value for ``body``: ``t=<unix>,v1=<hex>``."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},{SCHEME}={signature(secret, moment, body)}"


def verify(
    secret: str, header: str, body: bytes, tolerance: int = TOLERANCE, now: int | None = None
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now.

    Any of several ``v1`` values may match (a sender rotating secrets sends one per secret).
    A malformed header is simply not valid.
    """
    timestamp, candidates = _parse(header)
    if timestamp is None or not candidates:
        return False
    moment = int(time.time()) if now is None else now
    if abs(moment - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    return timestamp, candidates

"""The consent form's protection without a session: a signed token bound to one scan of one
stamp and a short time window, and a same-origin check of the POST.

A scan therefore sets no cookie: the form carries everything the POST needs, and a token
is good only for the scan it was issued with (``scan_id`` and the stamp's serial) and for
``SCAN_CONSENT_MAX_AGE`` seconds (30 minutes by default, the scan window: ``trace.config``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from itsdangerous import BadSignature, TimestampSigner
from werkzeug.datastructures import Headers

SALT = "scan-consent"


class ConsentRefused(Exception):
    """The consent POST is not from a scan page we served just now for this stamp."""


def signer(secret: str) -> TimestampSigner:
    """The signer of consent tokens for this app's ``SECRET_KEY``."""
    return TimestampSigner(secret, salt=SALT)


def issue(sign: TimestampSigner, scan_id: int, serial: str) -> str:
    """A token allowing one place to be attached to scan ``scan_id`` of stamp ``serial``."""
    return sign.sign(f"{scan_id}:{serial}").decode()


def redeem(sign: TimestampSigner, token: str, serial: str, max_age: int) -> int:
    """The scan id a token names, if it is genuine, recent and for this stamp.

    :raises ConsentRefused: forged, expired, or issued for another stamp.
    """
    try:
        payload = sign.unsign(token, max_age=max_age).decode()
    except (BadSignature, UnicodeDecodeError) as error:
        raise ConsentRefused(str(error)) from None
    scan_id, _, for_serial = payload.partition(":")
    if for_serial != serial or not scan_id.isdigit():
        raise ConsentRefused("token issued for another stamp")
    return int(scan_id)


def same_origin(headers: Headers | Mapping[str, str], host: str) -> bool:
    """Whether a browser POST comes from our own pages (``Origin``/``Sec-Fetch-Site``).

    Clients that send neither header (old browsers, scripts) pass: the token decides.
    """
    if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == host

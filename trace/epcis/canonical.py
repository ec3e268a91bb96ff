"""Canonical forms of single EPCIS values for the CBV 2.0 event hash pre-hash string."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

from .digital_link import normalise_identifier
from .vocabulary import CBV_BASE

_CBV_URN_PREFIXES = (
    ("urn:epcglobal:cbv:bizstep:", f"{CBV_BASE}BizStep-"),
    ("urn:epcglobal:cbv:disp:", f"{CBV_BASE}Disp-"),
    ("urn:epcglobal:cbv:btt:", f"{CBV_BASE}BTT-"),
    ("urn:epcglobal:cbv:sdt:", f"{CBV_BASE}SDT-"),
    ("urn:epcglobal:cbv:er:", f"{CBV_BASE}ER-"),
)

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>\d\d)(?::?(?P<om>\d\d))?)?"
)


def cbv_web_uri(value: str) -> str:
    """Rewrite CBV 1.x URNs (``urn:epcglobal:cbv:bizstep:shipping``) as CBV 2.0 Web URIs."""
    for urn, web in _CBV_URN_PREFIXES:
        value = value.replace(urn, web)
    return value


def canonical_number(value: str) -> str:
    """Write a value that parses as a finite number without trailing zeros (``200.0`` -> ``200``).

    Like the reference implementation, anything Python's ``float`` accepts counts as a number,
    so an ILMD string ``"0012"`` becomes ``12``. Other values are returned unchanged.
    """
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        return value
    return str(int(number)) if number.is_integer() else str(number)


def canonical_value(value: str) -> str:
    """Canonicalise a non-timestamp value: CBV URN -> Web URI, numbers, GS1 keys -> DL."""
    value = canonical_number(cbv_web_uri(value))
    return normalise_identifier(value) or value


def _timezone(match: re.Match[str]) -> timezone:
    if match["sign"] is None:
        return UTC  # "Z", and (by our choice) a timestamp without offset
    offset = timedelta(hours=int(match["oh"]), minutes=int(match["om"] or 0))
    return timezone(-offset if match["sign"] == "-" else offset)


def _round_to_milliseconds(fraction: str | None) -> int:
    # Microsecond precision first (as dateutil parses), then round half to even to
    # milliseconds, as the reference implementation's round(microsecond, -3) does.
    microseconds = int((fraction or "").ljust(6, "0")[:6])
    return round(microseconds, -3) // 1000


def canonical_timestamp(value: str) -> str:
    """Write an ISO 8601 date-time in UTC with exactly three fractional digits and ``Z``.

    ``2023-02-02T11:04:03.1415Z`` -> ``2023-02-02T11:04:03.142Z``;
    ``2020-03-04T11:00:30+01:00`` -> ``2020-03-04T10:00:30.000Z``. A value that is not such a
    date-time is returned unchanged.
    """
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return value
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=_timezone(match))
        moment += timedelta(milliseconds=_round_to_milliseconds(match[7]))
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return value
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"

"""GS1 identity: check digits, GTIN and GLN, AI syntax, and Digital Link URIs (build and parse).

Every package builds and reads GS1 keys through this module; the Digital Link rules follow
the GS1 Digital Link URI Syntax 1.4 (percent-encoding of everything but RFC 3986's
unreserved characters in AI values).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from trace.errors import TraceError

GS1_CSET82: str = (
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
"""The 82 characters allowed in alphanumeric ("X") GS1 Application Identifier values."""

_CSET82_SET = frozenset(GS1_CSET82)
_GTIN_LENGTHS = (8, 12, 13, 14)
LOT_MAX_LENGTH = 20
"""AI 10 (batch/lot) is X..20 in the GS1 Barcode Syntax Dictionary."""
SERIAL_MAX_LENGTH = 20
"""AI 21 (serial number) is X..20 in the GS1 Barcode Syntax Dictionary."""


def gs1_check_digit(digits_without_check: str) -> str:
    """Return the GS1 mod-10 check digit for a string of digits.

    Weights 3 and 1 alternate from the rightmost digit, as for GTIN, GLN and SSCC.

    :raises ValueError: if the input is empty or contains a non-digit.
    """
    if not digits_without_check or not _is_ascii_digits(digits_without_check):
        raise ValueError("a check digit needs at least one digit and digits only")
    total = 0
    for position, char in enumerate(reversed(digits_without_check)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return str(-total % 10)


def has_valid_check_digit(value: str) -> bool:
    """Tell whether the last digit of ``value`` is its GS1 mod-10 check digit."""
    if len(value) < 2 or not _is_ascii_digits(value):
        return False
    return gs1_check_digit(value[:-1]) == value[-1]


def is_valid_gtin(value: str) -> bool:
    """Tell whether ``value`` is a GTIN-8, -12, -13 or -14 with a correct check digit."""
    return len(value) in _GTIN_LENGTHS and has_valid_check_digit(value)


def normalize_gtin(value: str) -> str:
    """Return ``value`` as a GTIN-14, left-padded with zeros.

    Surrounding whitespace is ignored.

    :raises ValueError: with an English explanation if the value is not a valid GTIN.
    """
    gtin = value.strip()
    if not _is_ascii_digits(gtin):
        raise ValueError("A GTIN must contain digits only.")
    if len(gtin) not in _GTIN_LENGTHS:
        raise ValueError(f"A GTIN must have 8, 12, 13 or 14 digits, not {len(gtin)}.")
    expected = gs1_check_digit(gtin[:-1])
    if gtin[-1] != expected:
        raise ValueError(
            f"The GTIN check digit is wrong: the last digit should be {expected}, not {gtin[-1]}."
        )
    return gtin.zfill(14)


def is_valid_company_prefix(value: str) -> bool:
    """Tell whether ``value`` looks like a GS1 company prefix (6 to 12 digits)."""
    return 6 <= len(value) <= 12 and _is_ascii_digits(value)


def gtin_from_company_prefix(company_prefix: str, item_reference: int, indicator: str = "0") -> str:
    """Build a GTIN-14 from an indicator digit, a company prefix and an item reference.

    The item reference fills the digits the prefix leaves free (12 minus the prefix
    length) and is left-padded with zeros.

    :raises ValueError: if the prefix or indicator is malformed or the item reference
        does not fit.
    """
    if not is_valid_company_prefix(company_prefix):
        raise ValueError("A GS1 company prefix must have 6 to 12 digits.")
    if len(indicator) != 1 or not _is_ascii_digits(indicator):
        raise ValueError("The GTIN indicator must be a single digit.")
    width = 12 - len(company_prefix)
    if item_reference < 0 or item_reference >= 10**width:
        raise ValueError(
            f"Item reference {item_reference} does not fit in the {width} digits left by "
            f"the company prefix {company_prefix}."
        )
    body = indicator + company_prefix + (str(item_reference).zfill(width) if width else "")
    return body + gs1_check_digit(body)


def is_valid_gln(value: str) -> bool:
    """Tell whether ``value`` is a 13-digit GLN with a correct check digit."""
    return len(value) == 13 and has_valid_check_digit(value)


def is_valid_ai82(value: str, max_length: int = 20) -> bool:
    """Tell whether ``value`` is 1..max_length characters of GS1 CSET 82."""
    return 0 < len(value) <= max_length and _CSET82_SET.issuperset(value)


def validate_lot_code(value: str) -> str | None:
    """Check a batch/lot number (AI 10): None when valid, else a short English reason."""
    return _validate_ai82("lot code", value, LOT_MAX_LENGTH)


def validate_serial(value: str) -> str | None:
    """Check a serial number (AI 21): None when valid, else a short English reason."""
    return _validate_ai82("serial number", value, SERIAL_MAX_LENGTH)


def _validate_ai82(label: str, value: str, max_length: int) -> str | None:
    if not value:
        return f"The {label} must not be empty."
    if len(value) > max_length:
        return f"The {label} must have at most {max_length} characters, not {len(value)}."
    bad = sorted({char for char in value if char not in _CSET82_SET})
    if bad:
        shown = " ".join(repr(char) for char in bad)
        return f"The {label} contains characters GS1 does not allow: {shown}."
    return None


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() accepts other scripts' digits such as "٣"; GS1 wants ASCII only.
    return value.isascii() and value.isdigit()


# --- GS1 Digital Link ---------------------------------------------------------------------

CANONICAL_DL_HOST = "https://id.gs1.org"
"""GS1's canonical resolver: the stem of constrained canonical Digital Link URIs."""

_GTIN_QUALIFIERS = ("22", "10", "21")  # dictionary: 01 dlpkey=22,10,21 (in this order)
_URI_PREFIX_RE = re.compile(r"(?i:https?)://[A-Za-z0-9.\-:\[\]]+(?=/|$)")
_PCHAR_RE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*")
_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")


class MalformedDigitalLink(TraceError, ValueError):
    """A path or URI is not a well-formed GS1 Digital Link; ``str()`` says why."""


def encode_ai_value(value: str) -> str:
    """Percent-encode an AI value for a Digital Link path: all but A-Z a-z 0-9 - . _ ~.

    Characters outside ASCII (never valid in an AI, but found in old data) become UTF-8.
    """
    return quote(value, safe="")


def dl_uri_unchecked(base_url: str | None, pairs: Sequence[tuple[str, str]]) -> str:
    """Build ``{base}/{ai}/{value}...`` with each value percent-encoded, checking nothing.

    For data that predates the checks (a GTIN imported with a wrong check digit): the link
    is still built, and whoever receives it refuses it visibly. Prefer :func:`gtin_dl_uri`.
    """
    path = "".join(f"/{ai}/{encode_ai_value(value)}" for ai, value in pairs)
    return _stem(base_url) + path


def gtin_dl_uri(
    base_url: str | None,
    gtin14: str,
    *,
    cpv: str | None = None,
    lot: str | None = None,
    serial: str | None = None,
) -> str:
    """Build the GS1 Digital Link URI ``{base}/01/{gtin}[/22/..][/10/..][/21/..]``.

    ``base_url`` None means the canonical ``https://id.gs1.org``; a trailing slash is
    dropped; an empty base gives a root-relative URI.

    :raises ValueError: if the GTIN is not a valid GTIN-14 or a qualifier breaks AI rules.
    """
    if len(gtin14) != 14 or not is_valid_gtin(gtin14):
        raise ValueError(f"not a valid GTIN-14: {gtin14!r}")
    pairs = [("01", gtin14)]
    for ai, value in zip(_GTIN_QUALIFIERS, (cpv, lot, serial), strict=True):
        if value is not None:
            _raise_if_bad_qualifier(ai, value, ValueError)
            pairs.append((ai, value))
    return dl_uri_unchecked(base_url, pairs)


def gln_dl_uri(base_url: str | None, gln: str, *, extension: str | None = None) -> str:
    """Build the Digital Link URI of a location: ``{base}/414/{gln}[/254/{extension}]``.

    :raises ValueError: if ``gln`` is not a valid GLN or the extension breaks AI 254 rules.
    """
    pairs = [("414", _checked_gln(gln))]
    if extension:
        if not is_valid_ai82(extension):
            raise ValueError(f"AI 254 must be 1 to 20 characters of GS1 CSET 82: {extension!r}")
        pairs.append(("254", extension))
    return dl_uri_unchecked(base_url, pairs)


def party_dl_uri(base_url: str | None, gln: str) -> str:
    """Build the Digital Link URI of a party (AI 417): ``{base}/417/{gln}``.

    :raises ValueError: if ``gln`` is not a valid GLN.
    """
    return dl_uri_unchecked(base_url, [("417", _checked_gln(gln))])


def parse_gtin_dl_path(path_or_uri: str) -> list[tuple[str, str]]:
    """Parse the ``/01/{gtin}[/22/..][/10/..][/21/..]`` part of a Digital Link path or URI.

    Give the raw, still percent-encoded path (``%2F`` inside a lot must not have become
    ``/``). Any stem before ``/01/`` is ignored, and so are the query and fragment.

    :returns: ``[(ai, decoded value), ...]`` in path order, starting with ``("01", gtin)``.
    :raises MalformedDigitalLink: with the reason, if the path does not follow the rules.
    """
    segments = _path_of(path_or_uri).split("/")
    pairs: list[tuple[str, str]] = []
    while len(segments) >= 3:  # a leading "" before the first "/" always remains
        value, ai = segments.pop(), segments.pop()
        pairs.insert(0, (ai, _decode_segment(ai, value)))
        if ai == "01":
            _check_gtin_path(pairs)
            return pairs
        if ai not in _GTIN_QUALIFIERS:
            break
    raise MalformedDigitalLink("no /01/{GTIN} key followed only by /22, /10 and /21 qualifiers")


def _stem(base_url: str | None) -> str:
    return CANONICAL_DL_HOST if base_url is None else base_url.rstrip("/")


def _checked_gln(gln: str) -> str:
    if not is_valid_gln(gln):
        raise ValueError(f"not a valid 13-digit GLN: {gln!r}")
    return gln


def _path_of(path_or_uri: str) -> str:
    rest = path_or_uri
    if not rest.startswith("/"):
        match = _URI_PREFIX_RE.match(rest)
        if match is None:
            raise MalformedDigitalLink("not an http(s) URI or an absolute path")
        rest = rest[match.end() :]
    return rest.split("#", 1)[0].split("?", 1)[0]


def _decode_segment(ai: str, raw: str) -> str:
    if not _PCHAR_RE.fullmatch(raw):
        raise MalformedDigitalLink(f"the value of AI {ai} has characters a URI path cannot hold")
    value = _PCT_RE.sub(lambda match: chr(int(match.group(1), 16)), raw)
    if ai in _GTIN_QUALIFIERS:
        _raise_if_bad_qualifier(ai, value, MalformedDigitalLink)
    return value


def _raise_if_bad_qualifier(ai: str, value: str, error: type[ValueError]) -> None:
    reason = {"10": validate_lot_code, "21": validate_serial}.get(ai, _validate_cpv)(value)
    if reason is not None:
        raise error(f"AI {ai}: {reason}")


def _validate_cpv(value: str) -> str | None:
    if is_valid_ai82(value):
        return None
    return "The CPV must be 1 to 20 characters of GS1 CSET 82."


def _check_gtin_path(pairs: list[tuple[str, str]]) -> None:
    gtin = pairs[0][1]
    if len(gtin) != 14 or not is_valid_gtin(gtin):
        raise MalformedDigitalLink("AI 01 must be a GTIN-14 with a correct check digit")
    qualifiers = [ai for ai, _ in pairs[1:]]
    expected_order = [ai for ai in _GTIN_QUALIFIERS if ai in qualifiers]
    if qualifiers != expected_order:
        raise MalformedDigitalLink("qualifiers after /01/ must appear once, in order 22, 10, 21")

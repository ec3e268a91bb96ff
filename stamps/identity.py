"""Stamp identity: random serial numbers, and a stamp's GTIN + lot + serial Digital Link.

The Digital Link rules themselves (encoding, parsing, AI syntax) live in :mod:`trace.gs1`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache

from stamps.errors import StampError
from trace.gs1 import MalformedDigitalLink, gtin_dl_uri, parse_gtin_dl_path

SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: digits and capitals without I, L, O and U (no look-alikes)."""
SERIAL_BODY_LENGTH = 13
"""13 random base32 characters carry 65 bits from the operating system's CSPRNG."""
SERIAL_LENGTH = SERIAL_BODY_LENGTH + 1
"""The body plus one check character."""

_SERIAL_RE = re.compile(f"[{SERIAL_ALPHABET}]{{{SERIAL_LENGTH}}}")
_TYPO_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
# GF(32) with the primitive polynomial x^5 + x^2 + 1. The check character makes the
# Damm-style fold  r <- 2*r XOR digit  end at zero; x*y = 2x + y is a totally
# anti-symmetric quasigroup, so every single substitution and every adjacent
# transposition is caught. Being linear over GF(2), it vectorises with bytes.translate.
_GF32_POLY = 0b100101
_CHECK_BASE = 2


@dataclass(frozen=True, slots=True)
class StampKey:
    """The GS1 identity of one stamp: GTIN-14 (AI 01), batch/lot (AI 10), serial (AI 21)."""

    gtin: str
    lot: str
    serial: str


class MalformedStampPath(StampError, MalformedDigitalLink):
    """A scanned path is not a well-formed GS1 Digital Link stamp path; ``str()`` says why."""


# --- serial numbers ---------------------------------------------------------------------


def new_serials(n: int) -> list[str]:
    """Return ``n`` new serials, distinct from each other.

    Each has 13 random Crockford base32 characters (65 bits from :mod:`secrets`) and a
    check character, so it fits GS1 AI 21 and needs no percent-encoding in a URI.
    Uniqueness across batches is the database's unique index's job; a clash there is
    a 2**-65-per-pair event.

    :raises ValueError: if ``n`` is negative.
    """
    if n < 0:
        raise ValueError("the number of serials cannot be negative")
    serials = _random_serials(n)
    if len(set(serials)) != n:
        serials = _top_up_distinct(serials, n)
    return serials


def is_well_formed_serial(serial: str) -> bool:
    """Tell whether ``serial`` has the shape and check character of :func:`new_serials`."""
    if not isinstance(serial, str) or not _SERIAL_RE.fullmatch(serial):
        return False
    double, index = _gf32_double(), _alphabet_index()
    remainder = 0
    for char in serial:
        remainder = double[remainder] ^ index[char]
    return remainder == 0


def normalize_serial(typed: str) -> str:
    """Turn a serial typed by a person into canonical form (the result is not validated).

    Upper-cases, drops hyphens and spaces, and reads O as 0 and I / L as 1 (Crockford).
    """
    return typed.strip().upper().translate(_TYPO_FIXES)


def format_serial(serial: str, group: int = 5) -> str:
    """Group a serial for reading on a label, e.g. ``7K3QD-X9M2A-4TRW``."""
    return "-".join(serial[i : i + group] for i in range(0, len(serial), group))


def _random_serials(n: int) -> list[str]:
    if n == 0:
        return []
    body, stride = SERIAL_BODY_LENGTH, SERIAL_LENGTH + 1  # + a space to split on
    raw = secrets.token_bytes(body * n)  # one byte per character; its low 5 bits are used
    check = 0
    for position, table in enumerate(_weight_tables()):
        check ^= int.from_bytes(raw[position::body].translate(table), "big")
    out = bytearray(b" " * (stride * n))
    chars = raw.translate(_byte_to_char())
    for position in range(body):
        out[position::stride] = chars[position::body]
    out[body::stride] = check.to_bytes(n, "big").translate(_byte_to_char())
    return out.decode("ascii").split()


def _top_up_distinct(serials: list[str], n: int) -> list[str]:
    distinct = list(dict.fromkeys(serials))
    while len(distinct) < n:
        distinct = list(dict.fromkeys(distinct + _random_serials(n - len(distinct))))
    return distinct


def _gf32_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _GF32_POLY
    return product


@cache
def _gf32_double() -> tuple[int, ...]:
    return tuple(_gf32_mul(_CHECK_BASE, value) for value in range(32))


@cache
def _alphabet_index() -> dict[str, int]:
    return {char: value for value, char in enumerate(SERIAL_ALPHABET)}


@cache
def _byte_to_char() -> bytes:
    return bytes(ord(SERIAL_ALPHABET[byte & 31]) for byte in range(256))


@cache
def _weight_tables() -> tuple[bytes, ...]:
    """For body position i, map a random byte to weight(i) * (byte & 31) in GF(32)."""
    tables = []
    for position in range(SERIAL_BODY_LENGTH):
        weight = 1
        for _ in range(SERIAL_BODY_LENGTH - position):
            weight = _gf32_mul(weight, _CHECK_BASE)
        tables.append(bytes(_gf32_mul(weight, byte & 31) for byte in range(256)))
    return tuple(tables)


# --- stamp URIs ----------------------------------------------------------------------------


def stamp_uri(base_url: str, gtin14: str, lot: str, serial: str) -> str:
    """Return the stamp's Digital Link URI ``{base}/01/{gtin14}/10/{lot}/21/{serial}``.

    :raises ValueError: if the GTIN, lot or serial breaks GS1 rules.
    """
    return gtin_dl_uri(base_url, gtin14, lot=lot, serial=serial)


def parse_stamp_path(path_or_uri: str) -> StampKey:
    """Parse a stamp path ``[stem]/01/{gtin14}/10/{lot}/21/{serial}`` into a StampKey.

    :raises MalformedStampPath: with the reason, if it is not exactly such a path with a
        valid GTIN-14 check digit and lot and serial in GS1 CSET 82 (1 to 20 characters).
    """
    try:
        pairs = parse_gtin_dl_path(path_or_uri)
    except MalformedDigitalLink as error:
        raise MalformedStampPath(str(error)) from None
    if [ai for ai, _ in pairs] != ["01", "10", "21"]:
        raise MalformedStampPath("a stamp path has exactly /01/{GTIN}/10/{lot}/21/{serial}")
    return StampKey(gtin=pairs[0][1], lot=pairs[1][1], serial=pairs[2][1])

"""GS1 Digital Link URI compression (GS1 Digital Link standard, compression section).

A compressed URI carries its element strings as a bit string in a URI-safe base64
alphabet, e.g. ``https://id.gs1.org/ARFKk4XBoA`` for ``/01/09506000134352``. Each
element starts with its AI as hex nibbles (or one "optimisation" byte standing for a
fixed AI sequence), then its value in the encoding the AI's format table gives. The
tables in ``data/dl_compression_tables.json`` are GS1's own (tableP, tableF, tableOpt of
GS1 DigitalLink Compression Prototype, Apache-2.0; see ``data/SOURCES.md``).
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from importlib import resources
from typing import Any

from stamps.identity import MalformedStampPath

SAFE_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HEX = "0123456789ABCDEF"
COMPRESSED_RE = re.compile(r"[A-Za-z0-9_-]{8,}")
"""What a fully compressed path segment looks like (any shorter one is not a DL)."""
_MAX_BITS = 6 * 512  # a QR code's URI never needs more; bounds the work per request


class NotCompressed(MalformedStampPath):
    """The segment is not a GS1 Digital Link compressed URI we can read."""


@cache
def _tables() -> dict[str, Any]:
    text = resources.files("stamps.resolver").joinpath("data/dl_compression_tables.json")
    tables: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return tables


def decompress(segment: str) -> dict[str, str]:
    """The element strings of a compressed Digital Link path segment, as ``{ai: value}``.

    :raises NotCompressed: not base64url, or the bits do not decode to GS1 elements.
    """
    if not COMPRESSED_RE.fullmatch(segment) or 6 * len(segment) > _MAX_BITS:
        raise NotCompressed("not a compressed GS1 Digital Link")
    bits = "".join(f"{SAFE_BASE64.index(char):06b}" for char in segment)
    try:
        elements = _read_elements(bits)
    except (KeyError, ValueError, IndexError) as error:
        raise NotCompressed(f"not a compressed GS1 Digital Link: {error}") from None
    if "01" not in elements:
        raise NotCompressed("a compressed Digital Link without a GTIN (AI 01)")
    return elements


def compress(elements: dict[str, str], *, optimise: bool = True) -> str:
    """The compressed path segment for ``{ai: value}`` (GTIN first, as GS1's toolkit does).

    :raises KeyError: an AI GS1's tables do not know.
    """
    bits, remaining = "", dict(elements)
    if optimise:
        code, sequence = _best_optimisation(list(remaining))
        if code:
            bits += "".join(f"{_HEX.index(c):04b}" for c in code)
            bits += "".join(_encode_value(ai, remaining.pop(ai)) for ai in sequence)
    for ai in list(remaining):
        bits += "".join(f"{int(d):04b}" for d in ai) + _encode_value(ai, remaining.pop(ai))
    bits += "0" * (-len(bits) % 6)
    return "".join(SAFE_BASE64[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


# --- decoding ---------------------------------------------------------------------------


def _read_elements(bits: str) -> dict[str, str]:
    tables, cursor = _tables(), 0
    elements: dict[str, str] = {}
    while len(bits) - cursor > 8:
        h1, h2 = int(bits[cursor : cursor + 4], 2), int(bits[cursor + 4 : cursor + 8], 2)
        cursor += 8
        if h1 <= 9 and h2 <= 9:
            ai = f"{h1}{h2}"
            for _ in range(tables["tableP"][ai] - 2):  # KeyError: reserved range
                digit = int(bits[cursor : cursor + 4], 2)
                if digit > 9:
                    raise ValueError("an AI is not all digits")
                ai, cursor = ai + str(digit), cursor + 4
            cursor = _read_value(ai, bits, cursor, elements)
        else:
            sequence = tables["tableOpt"][_HEX[h1] + _HEX[h2]]  # KeyError: unknown code
            for ai in sequence:
                cursor = _read_value(ai, bits, cursor, elements)
    return elements


def _read_value(ai: str, bits: str, cursor: int, elements: dict[str, str]) -> int:
    value = ""
    for part in _tables()["tableF"][ai]:
        if part["E"] == "N":
            digits = int(part["L"]) if "L" in part else None
            if digits is None:
                width = _length_bits(int(part["M"]))
                digits, cursor = int(bits[cursor : cursor + width], 2), cursor + width
            width = _value_bits(digits)
            number = int(bits[cursor : cursor + width] or "0", 2)
            cursor += width
            value += str(number).zfill(digits) if digits else ""
        else:
            encoding, cursor = int(bits[cursor : cursor + 3], 2), cursor + 3
            count = int(part.get("L", 0))
            if "M" in part:
                width = _length_bits(int(part["M"]))
                count, cursor = int(bits[cursor : cursor + width], 2), cursor + width
            text, cursor = _read_chars(encoding, bits, cursor, count)
            value += text
    if len(bits) < cursor:
        raise ValueError("the bit string ends inside a value")
    elements[ai] = value
    return cursor


def _read_chars(encoding: int, bits: str, cursor: int, count: int) -> tuple[str, int]:
    if encoding == 0:
        width = _value_bits(count)
        return str(int(bits[cursor : cursor + width] or "0", 2)), cursor + width
    size = {1: 4, 2: 4, 3: 6, 4: 7}[encoding]  # KeyError: an encoding GS1 reserves
    codes = [int(bits[cursor + size * i : cursor + size * (i + 1)], 2) for i in range(count)]
    if encoding == 4:
        text = "".join(chr(code) for code in codes)
    elif encoding == 3:
        text = "".join(SAFE_BASE64[code] for code in codes)
    else:
        text = "".join(_HEX[code] for code in codes)
        text = text.lower() if encoding == 1 else text
    return text, cursor + size * count


# --- encoding ---------------------------------------------------------------------------


def _encode_value(ai: str, value: str) -> str:
    bits, rest = "", value
    for part in _tables()["tableF"][ai]:
        if part["E"] == "N":
            digits = int(part.get("L") or 0) or None
            chunk = rest[: digits or len(rest)] if digits else _leading_digits(rest, part)
            rest = rest[len(chunk) :]
            if not digits:
                bits += f"{len(chunk):0{_length_bits(int(part['M']))}b}"
            bits += f"{int(chunk or '0'):0{_value_bits(len(chunk))}b}" if chunk else ""
        else:
            chunk, rest = rest, ""
            bits += _encode_chars(chunk, part)
    return bits


def _leading_digits(text: str, part: dict[str, str]) -> str:
    match = re.match(r"\d*", text[: int(part["M"])])
    return match.group(0) if match else ""


def _encode_chars(text: str, part: dict[str, str]) -> str:
    length = "" if "L" in part else f"{len(text):0{_length_bits(int(part['M']))}b}"
    if text.isdigit():
        return "000" + length + f"{int(text):0{_value_bits(len(text))}b}"
    if re.fullmatch(r"[0-9a-f]+", text):
        return "001" + length + "".join(f"{_HEX.index(c.upper()):04b}" for c in text)
    if re.fullmatch(r"[0-9A-F]+", text):
        return "010" + length + "".join(f"{_HEX.index(c):04b}" for c in text)
    if re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return "011" + length + "".join(f"{SAFE_BASE64.index(c):06b}" for c in text)
    return "100" + length + "".join(f"{ord(c):07b}" for c in text)


def _best_optimisation(ais: list[str]) -> tuple[str | None, list[str]]:
    best: tuple[str | None, list[str]] = (None, [])
    for code, sequence in _tables()["tableOpt"].items():
        if all(ai in ais for ai in sequence) and len(sequence) > len(best[1]):
            best = (code, sequence)
    return best


def _length_bits(max_length: int) -> int:
    return math.ceil(math.log2(max_length) + 0.01)


def _value_bits(digits: int) -> int:
    return math.ceil(digits * math.log2(10) + 0.01)

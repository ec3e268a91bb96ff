"""GS1 Digital Link URIs on id.gs1.org for the identifiers AgriTrace puts in EPCIS events."""

from __future__ import annotations

import re
from urllib.parse import quote

from .digital_link import CANONICAL_ORIGIN, gs1_check_digit, normalise_identifier

# GS1 AI encodable character set 82, as allowed in a lot (AI 10) or serial (AI 21).
_AI82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


def gtin14(gtin: str) -> str:
    """Return a GTIN-8/12/13/14 as 14 digits after checking its check digit.

    :raises ValueError: when ``gtin`` is not such a GTIN.
    """
    if not re.fullmatch(r"\d{8}|\d{12,14}", gtin):
        raise ValueError(f"GTIN must have 8, 12, 13 or 14 digits: {gtin!r}")
    if gs1_check_digit(gtin[:-1]) != gtin[-1]:
        raise ValueError(f"GTIN check digit is wrong: {gtin!r}")
    return gtin.zfill(14)


def _ai82(value: str, what: str) -> str:
    if not _AI82.fullmatch(value):
        raise ValueError(f"{what} must be 1-20 characters of the GS1 character set: {value!r}")
    return quote(value, safe="")


def _gln(gln: str) -> str:
    if not re.fullmatch(r"\d{13}", gln) or gs1_check_digit(gln[:-1]) != gln[-1]:
        raise ValueError(f"not a valid 13-digit GLN: {gln!r}")
    return gln


def lot_uri(gtin: str, lot: str) -> str:
    """Return the class-level DL URI of a lot: ``https://id.gs1.org/01/{gtin14}/10/{lot}``.

    :raises ValueError: for an invalid GTIN or a lot outside GS1's character set or length.
    """
    return f"{CANONICAL_ORIGIN}/01/{gtin14(gtin)}/10/{_ai82(lot, 'lot')}"


def item_uri(gtin: str, serial: str) -> str:
    """Return the instance-level DL URI of a serialised item: ``.../01/{gtin14}/21/{serial}``."""
    return f"{CANONICAL_ORIGIN}/01/{gtin14(gtin)}/21/{_ai82(serial, 'serial')}"


def location_uri(gln: str, extension: str | None = None) -> str:
    """Return the DL URI of a location: ``https://id.gs1.org/414/{gln}[/254/{extension}]``."""
    suffix = f"/254/{_ai82(extension, 'GLN extension')}" if extension else ""
    return f"{CANONICAL_ORIGIN}/414/{_gln(gln)}{suffix}"


def party_uri(gln: str) -> str:
    """Return the DL URI of a party (AI 417): ``https://id.gs1.org/417/{gln}``."""
    return f"{CANONICAL_ORIGIN}/417/{_gln(gln)}"


def is_location_identifier(uri: str) -> bool:
    """Tell whether ``uri`` names a location: an SGLN EPC URI or a DL URI with AI 414."""
    canonical = normalise_identifier(uri) if isinstance(uri, str) else None
    return bool(canonical and canonical.startswith(f"{CANONICAL_ORIGIN}/414/"))

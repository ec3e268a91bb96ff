"""The GS1 Digital Link URIs on id.gs1.org that AgriTrace puts in EPCIS events.

They are built by :mod:`trace.gs1`, which owns the Digital Link rules; this module names
which ones EPCIS events carry.
"""

from __future__ import annotations

from trace.gs1 import CANONICAL_DL_HOST, gln_dl_uri, gtin_dl_uri, normalize_gtin, party_dl_uri

from .digital_link import normalise_identifier


def lot_uri(gtin: str, lot: str) -> str:
    """Return the class-level DL URI of a lot: ``https://id.gs1.org/01/{gtin14}/10/{lot}``.

    :raises ValueError: for an invalid GTIN or a lot outside GS1's character set or length.
    """
    return gtin_dl_uri(None, normalize_gtin(gtin), lot=lot)


def item_uri(gtin: str, serial: str) -> str:
    """Return the instance-level DL URI of a serialised item: ``.../01/{gtin14}/21/{serial}``.

    :raises ValueError: for an invalid GTIN or a serial outside GS1's character set or length.
    """
    return gtin_dl_uri(None, normalize_gtin(gtin), serial=serial)


def location_uri(gln: str, extension: str | None = None) -> str:
    """Return the DL URI of a location: ``https://id.gs1.org/414/{gln}[/254/{extension}]``.

    :raises ValueError: for an invalid GLN or extension.
    """
    return gln_dl_uri(None, gln, extension=extension)


def party_uri(gln: str) -> str:
    """Return the DL URI of a party (AI 417): ``https://id.gs1.org/417/{gln}``.

    :raises ValueError: for an invalid GLN.
    """
    return party_dl_uri(None, gln)


def is_location_identifier(uri: str) -> bool:
    """Tell whether ``uri`` names a location: an SGLN EPC URI or a DL URI with AI 414."""
    canonical = normalise_identifier(uri) if isinstance(uri, str) else None
    return bool(canonical and canonical.startswith(f"{CANONICAL_DL_HOST}/414/"))

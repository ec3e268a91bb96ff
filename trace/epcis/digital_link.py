"""GS1 keys in EPCIS identifiers: EPC URIs and Digital Link URIs to constrained canonical DL form.

The constrained canonical form is what the CBV 2.0 event hash writes for every identifier: a
GS1 Digital Link URI on ``https://id.gs1.org`` with numeric AIs, GTINs padded to 14 digits, no
query string, no CPV (AI 22) and only the finest key qualifier (a lot, AI 10, is dropped when a
serial, AI 21, is present). The rules follow the behaviour of the reference implementation
RalphTro/epcis-event-hash-generator (MIT), checked against its 71 normalisation vectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from trace.gs1 import CANONICAL_DL_HOST, gs1_check_digit

# One character of a GS1 AI encodable value as written in an EPC URI: a safe character or a
# percent-escape of one of the others (TDS, table A-1).
_EPC_ESCAPE = r"%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa])"
_EPC_CHAR = rf"(?:{_EPC_ESCAPE}|[!'()*+,.0-9:;=A-Za-z_-])"
_CPI_CHAR = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"
# Characters the DL syntax check accepts in alphanumeric key values and qualifiers.
_DL_CHAR = r"[\"'\-.0-9;-?A-Z_a-z]"

# DL characters that EPC URIs leave unescaped but GS1 Digital Link requires percent-encoded.
_DL_ESCAPES = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)


def _with_check(digits: str) -> str:
    return digits + gs1_check_digit(digits)


def _escape(text: str) -> str:
    return text.translate(_DL_ESCAPES)


_Builder = Callable[[dict[str, str]], str]

_CP = r"(?P<cp>\d{6,12})\."
_SERIAL = rf"(?P<x>{_EPC_CHAR}{{1,20}})"
_ALNUM_REF = rf"{_CP}(?P<ref>{_EPC_CHAR}+)"

# scheme -> (body pattern, digits in company prefix + reference or None, DL path builder)
_EPC_SCHEMES: dict[str, tuple[str, int | None, _Builder]] = {
    "id:sgtin": (
        rf"{_CP}(?P<ref>\d+)\.{_SERIAL}",
        13,
        lambda g: f"01/{_gtin(g)}/21/{_escape(g['x'])}",
    ),
    "id:sscc": (rf"{_CP}(?P<ref>\d+)", 17, lambda g: f"00/{_gtin(g)}"),
    "id:sgln": (rf"{_CP}(?P<ref>\d*)\.{_SERIAL}", 12, lambda g: f"414/{_key(g)}{_gln_ext(g)}"),
    "id:grai": (
        rf"{_CP}(?P<ref>\d*)\.(?P<x>{_EPC_CHAR}{{1,16}})",
        12,
        lambda g: f"8003/{_with_check('0' + g['cp'] + g['ref'])}{_escape(g['x'])}",
    ),
    "id:giai": (_ALNUM_REF, None, lambda g: f"8004/{g['cp']}{_escape(g['ref'])}"),
    "id:gsrn": (rf"{_CP}(?P<ref>\d+)", 17, lambda g: f"8018/{_key(g)}"),
    "id:gsrnp": (rf"{_CP}(?P<ref>\d+)", 17, lambda g: f"8017/{_key(g)}"),
    "id:gdti": (
        rf"{_CP}(?P<ref>\d*)\.(?P<x>{_EPC_CHAR}{{1,17}})",
        12,
        lambda g: f"253/{_key(g)}{_escape(g['x'])}",
    ),
    "id:cpi": (
        rf"{_CP}(?P<ref>{_CPI_CHAR}+)\.(?P<x>\d{{1,12}})",
        None,
        lambda g: f"8010/{_escape(g['cp'] + g['ref'])}/8011/{g['x']}",
    ),
    "id:sgcn": (rf"{_CP}(?P<ref>\d*)\.(?P<x>\d{{1,12}})", 12, lambda g: f"255/{_key(g)}{g['x']}"),
    "id:ginc": (_ALNUM_REF, None, lambda g: f"401/{g['cp']}{_escape(g['ref'])}"),
    "id:gsin": (rf"{_CP}(?P<ref>\d+)", 16, lambda g: f"402/{_key(g)}"),
    "id:itip": (
        rf"{_CP}(?P<ref>\d+)\.(?P<piece>\d\d)\.(?P<total>\d\d)\.{_SERIAL}",
        13,
        lambda g: f"8006/{_gtin(g)}{g['piece']}{g['total']}/21/{_escape(g['x'])}",
    ),
    "id:upui": (
        rf"{_CP}(?P<ref>\d+)\.(?P<x>{_EPC_CHAR}{{1,28}})",
        13,
        lambda g: f"01/{_gtin(g)}/235/{_escape(g['x'])}",
    ),
    "id:pgln": (rf"{_CP}(?P<ref>\d*)", 12, lambda g: f"417/{_key(g)}"),
    "class:lgtin": (
        rf"{_CP}(?P<ref>\d+)\.{_SERIAL}",
        13,
        lambda g: f"01/{_gtin(g)}/10/{_escape(g['x'])}",
    ),
    "idpat:sgtin": (rf"{_CP}(?P<ref>\d+)\.\*", 13, lambda g: f"01/{_gtin(g)}"),
    "idpat:grai": (
        rf"{_CP}(?P<ref>\d*)\.\*",
        12,
        lambda g: f"8003/{_with_check('0' + g['cp'] + g['ref'])}",
    ),
    "idpat:gdti": (rf"{_CP}(?P<ref>\d*)\.\*", 12, lambda g: f"253/{_key(g)}"),
    "idpat:sgcn": (rf"{_CP}(?P<ref>\d*)\.\*", 12, lambda g: f"255/{_key(g)}"),
    "idpat:cpi": (
        rf"{_CP}(?P<ref>{_CPI_CHAR}+)\.\*",
        None,
        lambda g: f"8010/{_escape(g['cp'] + g['ref'])}",
    ),
    "idpat:itip": (
        rf"{_CP}(?P<ref>\d+)\.(?P<piece>\d\d)\.(?P<total>\d\d)\.\*",
        13,
        lambda g: f"8006/{_gtin(g)}{g['piece']}{g['total']}",
    ),
    "idpat:upui": (rf"{_CP}(?P<ref>\d+)\.\*", 13, lambda g: f"01/{_gtin(g)}"),
}

# Schemes whose reference is alphanumeric: company prefix and reference share 30 characters.
_SHARED_LENGTH: dict[str, str] = {
    "id:giai": _EPC_CHAR,
    "id:ginc": _EPC_CHAR,
    "id:cpi": _CPI_CHAR,
    "idpat:cpi": _CPI_CHAR,
}


def _key(groups: dict[str, str]) -> str:
    return _with_check(groups["cp"] + groups["ref"])


def _gtin(groups: dict[str, str]) -> str:
    # EPC item references carry the GTIN indicator digit first.
    ref = groups["ref"]
    return _with_check(ref[:1] + groups["cp"] + ref[1:])


def _gln_ext(groups: dict[str, str]) -> str:
    return "" if groups["x"] == "0" else f"/254/{_escape(groups['x'])}"


def _from_epc_uri(uri: str) -> str | None:
    head = re.fullmatch(r"urn:epc:(id|class|idpat):([a-z]+):(.+)", uri)
    scheme = f"{head[1]}:{head[2]}" if head else ""
    if scheme not in _EPC_SCHEMES:
        return None
    pattern, digits, build = _EPC_SCHEMES[scheme]
    body = re.fullmatch(pattern, head[3], re.ASCII) if head else None
    if body is None:
        return None
    groups = body.groupdict()
    if digits is not None and len(groups["cp"]) + len(groups["ref"]) != digits:
        return None
    if scheme in _SHARED_LENGTH:
        if len(re.findall(_SHARED_LENGTH[scheme], groups["ref"])) > 30 - len(groups["cp"]):
            return None
    return f"{CANONICAL_DL_HOST}/{build(groups)}"


_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017",
    "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402",
    "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21",
}  # fmt: skip
# Primary keys in the order the reference looks for them on a non-canonical host.
_PRIMARY_KEYS = (
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
)  # fmt: skip
# primary key -> (pattern of its value, {qualifier AI: pattern of its value})
_DL_SYNTAX: dict[str, tuple[str, dict[str, str]]] = {
    "00": (r"\d{18}", {}),
    "01": (r"\d{14}", {"21": f"{_DL_CHAR}{{0,20}}", "10": f"{_DL_CHAR}{{0,20}}",
                       "235": f"{_DL_CHAR}{{0,28}}"}),
    "253": (rf"\d{{13}}{_DL_CHAR}{{0,17}}", {}),
    "255": (r"\d{13}\d{0,12}", {}),
    "401": (f"{_DL_CHAR}{{0,30}}", {}),
    "402": (r"\d{17}", {}),
    "414": (r"\d{13}", {"254": f"{_DL_CHAR}{{0,20}}"}),
    "417": (r"\d{13}", {}),
    "8003": (rf"\d{{14}}{_DL_CHAR}{{0,16}}", {}),
    "8004": (f"{_DL_CHAR}{{0,30}}", {}),
    "8006": (r"\d{18}", {"21": f"{_DL_CHAR}{{0,20}}", "10": f"{_DL_CHAR}{{0,20}}"}),
    "8010": (r"[#\-/0-9A-Z]{0,30}", {"8011": r"\d{0,12}"}),
    "8017": (r"\d{18}", {}),
    "8018": (r"\d{18}", {}),
}  # fmt: skip


def _dl_key_path(uri: str) -> str | None:
    """Return the path from the primary key on, with short names replaced by AIs."""
    uri = uri.split("?", 1)[0]
    for name, ai in _SHORT_NAMES.items():
        uri = uri.replace(f"/{name}/", f"/{ai}/")
    canonical = re.match(r"https://id\.gs1\.org(/(\d+)/.*)", uri)
    if canonical and canonical[2] in _DL_SYNTAX:
        return canonical[1]
    for key in _PRIMARY_KEYS:
        start = uri.find(f"/{key}/")
        if start != -1:
            return uri[start:]
    return None


def _constrain(segments: list[str]) -> list[str] | None:
    """Drop CPV and a lot shadowed by a serial; None when the path breaks DL syntax."""
    key, value, pairs = segments[0], segments[1], segments[2:]
    if key == "01" and value.isdigit() and len(value) in (8, 12, 13):
        value = value.zfill(14)
    qualifiers = dict(zip(pairs[0::2], pairs[1::2], strict=True))
    qualifiers.pop("22", None)
    if "21" in qualifiers:
        qualifiers.pop("10", None)
    key_pattern, allowed = _DL_SYNTAX[key]
    if not re.fullmatch(key_pattern, value) or len(qualifiers) > 1:
        return None
    for ai, text in qualifiers.items():
        if ai not in allowed or not re.fullmatch(allowed[ai], text):
            return None
    return [key, value, *(part for pair in qualifiers.items() for part in pair)]


def _from_digital_link(uri: str) -> str | None:
    if not re.match(r"https?://", uri) or "#" in uri.split("?", 1)[0]:
        return None
    path = _dl_key_path(uri)
    segments = path.split("/")[1:] if path else []
    if len(segments) < 2 or len(segments) % 2 or not re.fullmatch(r"\d{4}.+", segments[1]):
        return None
    constrained = _constrain(segments)
    return f"{CANONICAL_DL_HOST}/{'/'.join(constrained)}" if constrained else None


def normalise_identifier(value: object) -> str | None:
    """Return the constrained canonical GS1 Digital Link URI for an EPC URI or DL URI.

    :param value: an EPC pure identity, class or pattern URI (``urn:epc:...``) or a GS1 Digital
        Link URI on any host.
    :returns: the ``https://id.gs1.org/...`` form, or ``None`` when ``value`` is not a GS1 key
        URI this normaliser knows (the hash then keeps the value as it is).
    """
    if not isinstance(value, str) or "." not in value:
        return None
    if value.startswith("urn:epc:"):
        return _from_epc_uri(value)
    return _from_digital_link(value)

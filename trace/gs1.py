"""GS1 identifiers: GTIN, GLN and company-prefix check digits, and the AI 10 / AI 21 syntax."""

from __future__ import annotations

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


def gtin_from_company_prefix(
    company_prefix: str, item_reference: int, indicator: str = "0"
) -> str:
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

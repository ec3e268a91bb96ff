"""Specification of GS1 identifier checks: check digits, GTIN, GLN, AI 10 and AI 21."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.standards import DIGITAL_LINK
from trace.gs1 import (
    GS1_CSET82,
    gs1_check_digit,
    gtin_from_company_prefix,
    has_valid_check_digit,
    is_valid_ai82,
    is_valid_company_prefix,
    is_valid_gln,
    is_valid_gtin,
    normalize_gtin,
    validate_lot_code,
    validate_serial,
)


def _load(name: str) -> Any:
    """A GS1 reference file, vendored in tests/standards/digital-link (Apache-2.0)."""
    return json.loads((DIGITAL_LINK / name).read_text(encoding="utf-8"))


def _csum_vectors() -> list[Any]:
    vectors = _load("check-digit-vectors.json")["vectors"]
    return [v for v in vectors if v["linter"] == "csum"]


def _ai_entry(ai: str) -> dict[str, Any]:
    table = _load("gs1-ai-table.json")
    return next(entry for entry in table["entries"] if entry["ai"] == ai)


@pytest.mark.parametrize("vector", _csum_vectors(), ids=lambda v: repr(v["data"]))
def test_mod10_check_agrees_with_the_gs1_reference_linter(vector: dict[str, Any]) -> None:
    assert has_valid_check_digit(vector["data"]) is vector["valid"]


def test_reference_check_digit_vectors_are_present() -> None:
    vectors = _load("check-digit-vectors.json")["vectors"]
    assert len([v for v in vectors if v["linter"] == "csum"]) == len(_csum_vectors()) >= 13


@pytest.mark.parametrize(
    ("body", "check"),
    [("0234567", "3"), ("41600033610", "8"), ("123456789012", "8"), ("1234567890123", "1")],
)
def test_check_digit_is_computed_from_the_body(body: str, check: str) -> None:
    assert gs1_check_digit(body) == check


@pytest.mark.parametrize("body", ["", "12a4", "١٢٣"])
def test_check_digit_refuses_non_digits(body: str) -> None:
    with pytest.raises(ValueError):
        gs1_check_digit(body)


@pytest.mark.parametrize(
    ("gtin", "gtin14"),
    [
        ("02345673", "00000002345673"),
        ("416000336108", "00416000336108"),
        ("1234567890128", "01234567890128"),
        ("12345678901231", "12345678901231"),
        (" 09520123456788 ", "09520123456788"),
    ],
)
def test_valid_gtins_normalize_to_gtin14(gtin: str, gtin14: str) -> None:
    assert is_valid_gtin(gtin.strip())
    assert normalize_gtin(gtin) == gtin14


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12345673", "check digit"),
        ("1234567", "8, 12, 13 or 14 digits"),
        ("123456789012345675", "8, 12, 13 or 14 digits"),
        ("1234567890-28", "digits only"),
        ("", "digits only"),
    ],
)
def test_invalid_gtins_are_refused_with_a_readable_reason(value: str, reason: str) -> None:
    assert not is_valid_gtin(value)
    with pytest.raises(ValueError, match=reason):
        normalize_gtin(value)


def test_gtin_is_built_from_company_prefix_and_item_reference() -> None:
    assert gtin_from_company_prefix("952012", 345678) == "09520123456788"
    assert gtin_from_company_prefix("9520123", 45678, indicator="1") == "19520123456785"
    assert gtin_from_company_prefix("952012345678", 0) == "09520123456788"
    assert is_valid_gtin(gtin_from_company_prefix("893456", 7))


@pytest.mark.parametrize(
    ("prefix", "item", "indicator"),
    [
        ("952012", 1_000_000, "0"),
        ("952012345678", 1, "0"),
        ("952012", -1, "0"),
        ("95201", 1, "0"),
        ("952012", 1, "10"),
        ("952012", 1, "x"),
    ],
)
def test_gtin_from_company_prefix_refuses_what_does_not_fit(
    prefix: str, item: int, indicator: str
) -> None:
    with pytest.raises(ValueError):
        gtin_from_company_prefix(prefix, item, indicator)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("952012", True),
        ("952012345678", True),
        ("95201", False),
        ("9520123456789", False),
        ("95201a", False),
    ],
)
def test_company_prefix_has_6_to_12_digits(value: str, valid: bool) -> None:
    assert is_valid_company_prefix(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("9520123456788", True),
        ("9520123456789", False),
        ("952012345678", False),
        ("09520123456788", False),
    ],
)
def test_gln_is_13_digits_with_check_digit(value: str, valid: bool) -> None:
    assert is_valid_gln(value) is valid


def test_cset82_has_the_82_characters_of_the_syntax_dictionary() -> None:
    assert len(GS1_CSET82) == len(set(GS1_CSET82)) == 82
    assert set(GS1_CSET82) == {
        chr(code) for code in range(0x21, 0x7F) if chr(code) not in "#$@[\\]^`{|}~"
    }


@pytest.mark.parametrize("ai", ["10", "21"])
def test_lot_and_serial_limits_match_the_gs1_ai_table(ai: str) -> None:
    entry = _ai_entry(ai)
    assert entry["format"] == "X..20"
    assert (entry["min_length"], entry["max_length"]) == (1, 20)


@pytest.mark.parametrize("validate", [validate_lot_code, validate_serial])
@pytest.mark.parametrize(
    "value", ["A", "LOT-2024/07", "a" * 20, "!\"%&'()*+,-./:;<=>?_", "ABC+123"]
)
def test_ai82_values_up_to_20_characters_are_accepted(validate: Any, value: str) -> None:
    assert validate(value) is None
    assert is_valid_ai82(value)


@pytest.mark.parametrize("validate", [validate_lot_code, validate_serial])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("a" * 21, "at most 20"),
        ("LÔ 1", "'Ô'"),
        ("A#B", "'#'"),
        ("A~B", "'~'"),
        ("A B", "' '"),
        ("A\x00B", "'\\x00'"),
    ],
)
def test_ai82_violations_are_explained(validate: Any, value: str, reason: str) -> None:
    message = validate(value)
    assert message is not None and reason in message
    assert not is_valid_ai82(value)


def test_ai82_max_length_is_configurable() -> None:
    assert is_valid_ai82("A" * 25, max_length=25)
    assert not is_valid_ai82("A" * 26, max_length=25)

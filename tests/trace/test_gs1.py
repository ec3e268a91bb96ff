"""Specification of GS1 identity: check digits, GTIN, GLN, AI 10 / AI 21, Digital Link URIs.

GS1's reference vectors (vendored in tests/standards/digital-link) are checked here, once.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.standards import DIGITAL_LINK
from trace.gs1 import (
    GS1_CSET82,
    MalformedDigitalLink,
    encode_ai_value,
    gln_dl_uri,
    gs1_check_digit,
    gtin_dl_uri,
    gtin_from_company_prefix,
    has_valid_check_digit,
    is_valid_ai82,
    is_valid_company_prefix,
    is_valid_gln,
    is_valid_gtin,
    normalize_gtin,
    parse_gtin_dl_path,
    party_dl_uri,
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
    [
        ("0234567", "3"),
        ("41600033610", "8"),
        ("123456789012", "8"),
        ("1234567890123", "1"),
        ("629104150021", "3"),
        ("04012345000000011", "5"),
        ("401234500005", "4"),
    ],
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


# --- Digital Link ------------------------------------------------------------------------

GTIN = "09520123456788"
BASE = "https://truyxuat.example.vn"
_GTIN_AIS = {"01", "22", "10", "21"}


def _is_default(options: dict[str, bool]) -> bool:
    return not any(value for key, value in options.items() if key.startswith("permit"))


def _gtin_path_parse_cases() -> list[dict[str, Any]]:
    """Default-option cases with /01/ in the path, no query data, and (if valid) only 22/10/21.

    Query-string attributes and the /235/ qualifier are outside what we issue or resolve.
    """
    cases = []
    for case in _load("dl-uri-test-vectors.json")["parse"]:
        uri = case["uri"]
        query = uri.split("#")[0].partition("?")[2]
        ais = re.findall(r"/(\d{2,4})/", uri.split("?")[0] + "/")
        if _is_default(case["options"]) and "/01/" in uri and not query and "/235/" not in uri:
            if set(ais) <= _GTIN_AIS or not case["should_succeed"]:
                cases.append(case)
    return cases


def _gtin_generate_cases() -> list[dict[str, Any]]:
    cases = []
    for case in _load("dl-uri-test-vectors.json")["generate"]:
        data = case.get("ai_data_bracketed")
        if data and case["should_succeed"] and set(re.findall(r"\((\d+)\)", data)) <= _GTIN_AIS:
            cases.append(case)
    return cases


def _bracketed(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"({ai}){value}" for ai, value in pairs)


@pytest.mark.parametrize("case", _gtin_path_parse_cases(), ids=lambda c: c["uri"])
def test_gtin_paths_parse_like_the_gs1_syntax_engine(case: dict[str, Any]) -> None:
    if not case["should_succeed"]:
        with pytest.raises(MalformedDigitalLink):
            parse_gtin_dl_path(case["uri"])
    else:
        assert _bracketed(parse_gtin_dl_path(case["uri"])) == case["expected_bracketed"]


@pytest.mark.parametrize("case", _gtin_generate_cases(), ids=lambda c: c["ai_data_bracketed"])
def test_gtin_uris_are_generated_like_the_gs1_syntax_engine(case: dict[str, Any]) -> None:
    pairs = dict(re.findall(r"\((\d+)\)([^(]*)", case["ai_data_bracketed"]))
    uri = gtin_dl_uri(
        case["stem"], pairs["01"], cpv=pairs.get("22"), lot=pairs.get("10"), serial=pairs.get("21")
    )
    assert uri == case["expected_uri"]


def test_enough_reference_vectors_apply_to_gtin_paths() -> None:
    parse_cases = _gtin_path_parse_cases()
    assert len(parse_cases) >= 25
    assert any(c["should_succeed"] for c in parse_cases)
    assert any(not c["should_succeed"] for c in parse_cases)
    assert len(_gtin_generate_cases()) >= 4


def test_generated_plus_sign_matches_the_gs1_vector() -> None:
    assert encode_ai_value("ABC+123") == "ABC%2B123"


def test_canonical_host_is_the_default_stem_and_a_trailing_slash_is_dropped() -> None:
    assert gtin_dl_uri(None, GTIN) == f"https://id.gs1.org/01/{GTIN}"
    assert gtin_dl_uri(BASE + "/", GTIN, lot="L1") == f"{BASE}/01/{GTIN}/10/L1"
    assert gtin_dl_uri("", GTIN) == f"/01/{GTIN}"


@pytest.mark.parametrize(
    ("lot", "encoded"),
    [
        ("A/B", "A%2FB"),
        ("50%", "50%25"),
        ("A?B", "A%3FB"),
        ("A+B", "A%2BB"),
        ("x.y_z-1", "x.y_z-1"),
        ("!\"&'()*,:;<=>", "%21%22%26%27%28%29%2A%2C%3A%3B%3C%3D%3E"),
    ],
)
def test_ai_values_are_percent_encoded_and_round_trip(lot: str, encoded: str) -> None:
    uri = gtin_dl_uri(BASE, GTIN, lot=lot, serial="S1")
    assert uri == f"{BASE}/01/{GTIN}/10/{encoded}/21/S1"
    assert parse_gtin_dl_path(uri) == [("01", GTIN), ("10", lot), ("21", "S1")]
    assert parse_gtin_dl_path(uri.removeprefix(BASE))[1] == ("10", lot)


def test_every_cset82_character_round_trips_through_a_uri() -> None:
    for start in range(0, len(GS1_CSET82), 20):
        lot = GS1_CSET82[start : start + 20]
        assert parse_gtin_dl_path(gtin_dl_uri(BASE, GTIN, lot=lot))[1] == ("10", lot)


@pytest.mark.parametrize(
    ("gtin", "lot", "serial"),
    [
        ("9520123456788", "L1", "S"),
        ("09520123456789", "L1", "S"),
        (GTIN, "LÔ 1", "S"),
        (GTIN, "A#B", "S"),
        (GTIN, "A B", "S"),
        (GTIN, "", "S"),
        (GTIN, "L" * 21, "S"),
        (GTIN, "L1", ""),
    ],
)
def test_gtin_uris_refuse_values_gs1_does_not_allow(gtin: str, lot: str, serial: str) -> None:
    with pytest.raises(ValueError):
        gtin_dl_uri(BASE, gtin, lot=lot, serial=serial)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (f"/01/{GTIN[:-1]}9/10/L/21/S", "check digit"),
        (f"/01/{GTIN}/21/S/10/L", "order"),
        (f"/01/{GTIN}/10/L/10/L/21/S", "order"),
        (f"/01/{GTIN}/10/A%20B/21/S", "' '"),
        (f"/01/{GTIN}/10/A%2/21/S", "cannot hold"),
        (f'/01/{GTIN}/10/A"B/21/S', "cannot hold"),
        (f"/01/{GTIN}/10/{'L' * 21}/21/S", "at most 20"),
        (f"/01/{GTIN}/10/L/21/S/", "no /01/"),
        ("/favicon.ico", "no /01/"),
        (f"ftp://a/01/{GTIN}/10/L/21/S", "http"),
    ],
)
def test_malformed_gtin_paths_are_rejected_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(MalformedDigitalLink, match=re.escape(reason)):
        parse_gtin_dl_path(path)


def test_stem_query_and_fragment_are_ignored_when_parsing() -> None:
    pairs = parse_gtin_dl_path(f"https://a.example/some/stem/01/{GTIN}/10/L1?17=250101#x")
    assert pairs == [("01", GTIN), ("10", "L1")]


def test_location_and_party_uris_check_the_gln_and_encode_the_extension() -> None:
    gln = "8936000000004"
    assert gln_dl_uri(None, gln) == f"https://id.gs1.org/414/{gln}"
    assert gln_dl_uri(BASE, gln, extension="A/1") == f"{BASE}/414/{gln}/254/A%2F1"
    assert party_dl_uri(None, gln) == f"https://id.gs1.org/417/{gln}"
    with pytest.raises(ValueError, match="GLN"):
        party_dl_uri(None, "8936000000005")

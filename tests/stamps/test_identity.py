"""Specification of stamp identity: serial numbers and GS1 Digital Link stamp URIs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from stamps.identity import (
    SERIAL_ALPHABET,
    SERIAL_LENGTH,
    MalformedStampPath,
    StampKey,
    encode_ai_value,
    format_serial,
    gtin_dl_uri,
    is_well_formed_serial,
    new_serials,
    normalize_serial,
    parse_gtin_dl_path,
    parse_stamp_path,
    stamp_uri,
)
from tests.standards import DIGITAL_LINK
from trace.gs1 import GS1_CSET82

GTIN = "09520123456788"
BASE = "https://truyxuat.example.vn"
_GTIN_AIS = {"01", "22", "10", "21"}


def _dl_vectors() -> dict[str, Any]:
    """GS1's Digital Link URI vectors, vendored in tests/standards (Apache-2.0)."""
    path = DIGITAL_LINK / "dl-uri-test-vectors.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _is_default(options: dict[str, bool]) -> bool:
    return not any(value for key, value in options.items() if key.startswith("permit"))


def _gtin_path_parse_cases() -> list[dict[str, Any]]:
    """Default-option cases with /01/ in the path, no query data, and (if valid) only 22/10/21.

    Query-string attributes and the /235/ qualifier are outside what a stamp path carries.
    """
    cases = []
    for case in _dl_vectors()["parse"]:
        uri = case["uri"]
        query = uri.split("#")[0].partition("?")[2]
        ais = re.findall(r"/(\d{2,4})/", uri.split("?")[0] + "/")
        if _is_default(case["options"]) and "/01/" in uri and not query and "/235/" not in uri:
            if set(ais) <= _GTIN_AIS or not case["should_succeed"]:
                cases.append(case)
    return cases


def _gtin_generate_cases() -> list[dict[str, Any]]:
    cases = []
    for case in _dl_vectors()["generate"]:
        data = case.get("ai_data_bracketed")
        if data and case["should_succeed"] and set(re.findall(r"\((\d+)\)", data)) <= _GTIN_AIS:
            cases.append(case)
    return cases


def _bracketed(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"({ai}){value}" for ai, value in pairs)


# --- serials ---------------------------------------------------------------------------


def test_new_serials_are_distinct_fixed_length_and_well_formed() -> None:
    serials = new_serials(20_000)
    assert len(serials) == len(set(serials)) == 20_000
    assert all(len(s) == SERIAL_LENGTH and is_well_formed_serial(s) for s in serials)


def test_serial_alphabet_has_no_look_alikes_and_needs_no_uri_escaping() -> None:
    assert len(set(SERIAL_ALPHABET)) == 32
    assert not set("ILOU") & set(SERIAL_ALPHABET)
    assert set(SERIAL_ALPHABET) <= set(GS1_CSET82)
    assert encode_ai_value(SERIAL_ALPHABET) == SERIAL_ALPHABET


def test_serials_use_every_character_at_every_position() -> None:
    serials = new_serials(4_000)
    for position in range(SERIAL_LENGTH):
        assert {s[position] for s in serials} == set(SERIAL_ALPHABET)


def test_check_character_catches_every_single_typo_and_adjacent_swap() -> None:
    for serial in new_serials(20):
        for i in range(SERIAL_LENGTH):
            for char in SERIAL_ALPHABET.replace(serial[i], ""):
                assert not is_well_formed_serial(serial[:i] + char + serial[i + 1 :])
            swapped = serial[:i] + serial[i + 1 : i + 2] + serial[i] + serial[i + 2 :]
            assert swapped == serial or not is_well_formed_serial(swapped)


@pytest.mark.parametrize(
    "value", ["", "ABC", "0" * 13, "0" * 15, "0000000000000I", "0000000000000a", None, 12]
)
def test_malformed_serials_are_rejected(value: Any) -> None:
    assert not is_well_formed_serial(value)


def test_all_zero_serial_is_well_formed_because_its_check_is_zero() -> None:
    assert is_well_formed_serial("0" * SERIAL_LENGTH)


def test_typed_serials_are_normalized_crockford_style() -> None:
    serial = new_serials(1)[0]
    typed = format_serial(serial).lower().replace("0", "o").replace("1", "l")
    assert normalize_serial(f" {typed} ") == serial


def test_serials_are_grouped_for_reading() -> None:
    assert format_serial("ABCDEFGHJKMNPQ") == "ABCDE-FGHJK-MNPQ"


def test_new_serials_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        new_serials(-1)
    assert new_serials(0) == []


def test_a_large_batch_of_serials_is_distinct_and_well_formed() -> None:
    # Speed is measured in bench/, not here: this machine is shared and noisy.
    serials = new_serials(200_000)
    assert len(set(serials)) == 200_000
    assert all(is_well_formed_serial(s) for s in serials[::997])


# --- Digital Link ------------------------------------------------------------------------


def test_stamp_uri_follows_the_digital_link_path_order() -> None:
    assert stamp_uri(BASE + "/", GTIN, "L2024-07", "ABCDEFGHJKMNPQ") == (
        f"{BASE}/01/{GTIN}/10/L2024-07/21/ABCDEFGHJKMNPQ"
    )


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
def test_lot_characters_are_percent_encoded_and_round_trip(lot: str, encoded: str) -> None:
    serial = new_serials(1)[0]
    uri = stamp_uri(BASE, GTIN, lot, serial)
    assert uri == f"{BASE}/01/{GTIN}/10/{encoded}/21/{serial}"
    assert parse_stamp_path(uri) == StampKey(GTIN, lot, serial)
    assert parse_stamp_path(uri.removeprefix(BASE)) == StampKey(GTIN, lot, serial)


def test_every_cset82_character_round_trips_through_a_stamp_uri() -> None:
    for start in range(0, len(GS1_CSET82), 20):
        lot = GS1_CSET82[start : start + 20]
        uri = stamp_uri(BASE, GTIN, lot, "S")
        assert parse_stamp_path(uri) == StampKey(GTIN, lot, "S")


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
def test_stamp_uri_refuses_values_gs1_does_not_allow(gtin: str, lot: str, serial: str) -> None:
    with pytest.raises(ValueError):
        stamp_uri(BASE, gtin, lot, serial)


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
        (f"/01/{GTIN}/10/L", "exactly"),
        (f"/01/{GTIN}/22/C/10/L/21/S", "exactly"),
        ("/favicon.ico", "no /01/"),
        ("ftp://a/01/{GTIN}/10/L/21/S", "http"),
    ],
)
def test_malformed_stamp_paths_are_rejected_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(MalformedStampPath, match=re.escape(reason)):
        parse_stamp_path(path)


def test_stem_query_and_fragment_are_ignored() -> None:
    key = parse_stamp_path(f"https://a.example/some/stem/01/{GTIN}/10/L1/21/S1?17=250101#x")
    assert key == StampKey(GTIN, "L1", "S1")


def test_stamp_path_parse_errors_are_value_errors() -> None:
    assert issubclass(MalformedStampPath, ValueError)


@pytest.mark.parametrize("case", _gtin_path_parse_cases(), ids=lambda c: c["uri"])
def test_gtin_paths_parse_like_the_gs1_syntax_engine(case: dict[str, Any]) -> None:
    if not case["should_succeed"]:
        with pytest.raises(MalformedStampPath):
            parse_gtin_dl_path(case["uri"])
    else:
        assert _bracketed(parse_gtin_dl_path(case["uri"])) == case["expected_bracketed"]


@pytest.mark.parametrize(
    "case",
    _gtin_generate_cases(),
    ids=lambda c: c["ai_data_bracketed"],
)
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

"""Specification of stamp identity: serial numbers and a stamp's Digital Link URI.

The Digital Link rules themselves (encoding, parsing, GS1's vectors) are specified once, in
tests/trace/test_gs1.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from stamps.identity import (
    SERIAL_ALPHABET,
    SERIAL_LENGTH,
    MalformedStampPath,
    StampKey,
    format_serial,
    is_well_formed_serial,
    new_serials,
    normalize_serial,
    parse_stamp_path,
    stamp_uri,
)
from trace.gs1 import GS1_CSET82, MalformedDigitalLink, encode_ai_value

GTIN = "09520123456788"
BASE = "https://truyxuat.example.vn"


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


# --- stamp URIs --------------------------------------------------------------------------


def test_stamp_uri_follows_the_digital_link_path_order() -> None:
    assert stamp_uri(BASE + "/", GTIN, "L2024-07", "ABCDEFGHJKMNPQ") == (
        f"{BASE}/01/{GTIN}/10/L2024-07/21/ABCDEFGHJKMNPQ"
    )


def test_a_stamp_with_an_escaped_lot_round_trips() -> None:
    serial = new_serials(1)[0]
    uri = stamp_uri(BASE, GTIN, "A/B+C", serial)
    assert uri == f"{BASE}/01/{GTIN}/10/A%2FB%2BC/21/{serial}"
    assert parse_stamp_path(uri) == StampKey(GTIN, "A/B+C", serial)
    assert parse_stamp_path(uri.removeprefix(BASE)) == StampKey(GTIN, "A/B+C", serial)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (f"/01/{GTIN[:-1]}9/10/L/21/S", "check digit"),
        (f"/01/{GTIN}/10/A%20B/21/S", "' '"),
        (f"/01/{GTIN}/10/L", "exactly"),
        (f"/01/{GTIN}/22/C/10/L/21/S", "exactly"),
        ("/favicon.ico", "no /01/"),
    ],
)
def test_malformed_stamp_paths_are_rejected_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(MalformedStampPath, match=re.escape(reason)):
        parse_stamp_path(path)


def test_stem_query_and_fragment_are_ignored() -> None:
    key = parse_stamp_path(f"https://a.example/some/stem/01/{GTIN}/10/L1/21/S1?17=250101#x")
    assert key == StampKey(GTIN, "L1", "S1")


def test_stamp_path_errors_are_digital_link_and_value_errors() -> None:
    assert issubclass(MalformedStampPath, MalformedDigitalLink)
    assert issubclass(MalformedStampPath, ValueError)

"""Documents hash as keccak256 of their RFC 8785 canonical JSON."""

from __future__ import annotations

import pytest

from chain.canonical import canonical_json, document_hash
from chain.errors import CanonicalizationError
from chain.hashing import keccak256


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    doc = {"b": [1, 2.5, "x"], "a": {"z": None, "é": True}}
    assert canonical_json(doc) == b'{"a":{"z":null,"\xc3\xa9":true},"b":[1,2.5,"x"]}'


def test_rfc8785_number_forms() -> None:
    assert canonical_json([1.0, 1e21, -0.0, 0.1]) == b"[1,1e+21,0,0.1]"


def test_document_hash_is_keccak256_of_canonical_bytes() -> None:
    doc = {"lot": "L-1", "stamp_root": "0x" + "00" * 32}
    assert document_hash(doc) == keccak256(canonical_json(doc))
    assert document_hash(doc) == document_hash(dict(reversed(list(doc.items()))))


def test_changing_any_field_changes_the_hash() -> None:
    assert document_hash({"weight_kg": 10}) != document_hash({"weight_kg": 11})


@pytest.mark.parametrize("bad", [float("nan"), 2**60, {1: "int key"}, object()])
def test_values_without_canonical_form_raise_chain_error(bad: object) -> None:
    with pytest.raises(CanonicalizationError):
        document_hash({"x": bad})

"""Merkle trees match @openzeppelin/merkle-tree (StandardMerkleTree, leaf type bytes32)."""

from __future__ import annotations

import json
import os
import random

import pytest

from chain.errors import InvalidLeaf
from chain.hashing import keccak256
from chain.merkle import MerkleTree, hash_pair, leaf_hash, leaf_value_for, merkle_root, verify
from tests.chain.oz_reference import VECTORS, oz_available, run_oz

CASES = json.loads(VECTORS.read_text())["cases"]


def _b(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h[2:]) for h in hexes]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_root_leaf_hashes_and_proofs_equal_committed_oz_vectors(case: dict) -> None:
    values = _b(case["values"])
    tree = MerkleTree.of(values)
    assert "0x" + tree.root.hex() == case["root"]
    assert [tree.leaf_hash(i) for i in range(len(values))] == _b(case["leafHashes"])
    assert [tree.proof(i) for i in range(len(values))] == [_b(p) for p in case["proofs"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_oz_proof_verifies_in_python(case: dict) -> None:
    root = bytes.fromhex(case["root"][2:])
    for value, proof in zip(_b(case["values"]), case["proofs"], strict=True):
        assert verify(root, value, _b(proof))


@pytest.mark.skipif(
    not oz_available(),
    reason="node or node_modules/@openzeppelin/merkle-tree "
    "missing: run `npm install` to compare against the live JS library",
)
def test_random_trees_equal_live_oz_library() -> None:
    rng = random.Random(8785)
    sizes = [1, 2, 6, 31, 64, 65, 129, 1000]
    cases = [[rng.randbytes(32) for _ in range(n)] for n in sizes]
    cases.append([leaf_value_for(f"SERIAL-{i}") for i in range(50)] * 2)  # duplicates
    out = run_oz(cases, proofs=True)
    for values, ref in zip(cases, out["cases"], strict=True):
        tree = MerkleTree.of(values)
        assert "0x" + tree.root.hex() == ref["root"]
        for i, value in enumerate(values):
            assert verify(tree.root, value, _b(ref["proofs"][i]))
            assert verify(tree.root, value, tree.proof(i))


def test_leaf_hash_is_double_keccak_of_the_32_bytes() -> None:
    value = leaf_value_for("AGT-1")
    assert leaf_hash(value) == keccak256(keccak256(value))
    assert value == keccak256(b"AGT-1")


def test_internal_hashing_is_order_independent() -> None:
    a, b = keccak256(b"a"), keccak256(b"b")
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(min(a, b) + max(a, b))


def test_root_does_not_depend_on_input_order() -> None:
    values = [os.urandom(32) for _ in range(37)]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    assert merkle_root(values) == merkle_root(shuffled)


def test_single_leaf_tree_root_is_its_leaf_hash_with_empty_proof() -> None:
    value = leaf_value_for("only")
    tree = MerkleTree.of([value])
    assert tree.root == leaf_hash(value)
    assert tree.proof(0) == []
    assert verify(tree.root, value, [])


def test_proof_for_value_matches_proof_by_index() -> None:
    values = [leaf_value_for(f"S{i}") for i in range(20)]
    tree = MerkleTree.of(values)
    assert tree.proof_for(values[7]) == tree.proof(7)
    with pytest.raises(InvalidLeaf):
        tree.proof_for(leaf_value_for("not in tree"))


def test_verify_rejects_tampering() -> None:
    values = [leaf_value_for(f"S{i}") for i in range(9)]
    tree = MerkleTree.of(values)
    proof = tree.proof(4)
    assert verify(tree.root, values[4], proof)
    assert not verify(tree.root, values[5], proof)  # another leaf
    assert not verify(tree.root, values[4], proof[:-1])  # truncated path
    assert not verify(keccak256(b"other root"), values[4], proof)
    assert not verify(tree.root, values[4], [proof[0][:31], *proof[1:]])  # malformed node
    assert not verify(tree.root, leaf_hash(values[4]), proof)  # hash given as value


def test_tree_rejects_empty_input_and_wrong_length_values() -> None:
    with pytest.raises(InvalidLeaf):
        MerkleTree.of([])
    with pytest.raises(InvalidLeaf):
        MerkleTree.of([bytes(32), b"short"])
    with pytest.raises(InvalidLeaf):
        leaf_hash(b"x" * 33)


def test_proofs_returns_one_valid_proof_per_value_in_input_order() -> None:
    values = [leaf_value_for(f"L{i}") for i in range(13)]
    tree = MerkleTree.of(values)
    proofs = tree.proofs()
    assert len(proofs) == 13
    assert all(verify(tree.root, v, p) for v, p in zip(values, proofs, strict=True))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_packed_tree_gives_the_committed_oz_proofs(case: dict) -> None:
    values = _b(case["values"])
    packed = MerkleTree.of(values).packed()
    assert "0x" + packed.root.hex() == case["root"] and len(packed) == len(values)
    assert [packed.proof_for(v) for v in values] == [_b(p) for p in case["proofs"]]


def test_a_packed_tree_answers_as_its_tree_and_refuses_other_values() -> None:
    rng = random.Random(7)
    for size in (1, 2, 3, 50, 257):
        values = [leaf_value_for(f"P{rng.random()}") for _ in range(size)]
        values += values[: size // 3]  # duplicates share one proof, as in the tree
        tree = MerkleTree.of(values)
        packed = tree.packed()
        assert [packed.proof_for(v) for v in values] == [tree.proof_for(v) for v in values]
        for absent in (leaf_value_for("not in tree"), bytes(32), b"\xff" * 32):
            with pytest.raises(InvalidLeaf):
                packed.proof_for(absent)

"""Proof bundles keep each lot's stamp tree between requests, and never serve a stale proof.

A tree is kept per anchored stamp set (``stamps.proofs.stamp_tree``): minting more stamps
and anchoring again makes a new tree; the cache holds a bounded number of leaves.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, select

from chain.errors import InvalidProof
from chain.merkle import MerkleTree, PackedTree, leaf_hash, leaf_value_for, process_proof
from chain.proof import check_paths, parse_bundle
from stamps import minting
from stamps.models import Stamp
from stamps.proofs import ProofPending, StampTreeCache, proof_bundle
from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from tests.stamps.test_scan_story_cache import record_cooling
from trace.app import close_app, create_app


def mint(session: Session, farm: Farm, count: int) -> list[str]:
    run = minting.mint_stamps(session, farm.actor, farm.lot_id, count, "1")
    return list(session.exec(select(Stamp.serial).where(Stamp.run_id == run.id)))


def bundle_of(app: Flask, serial: str, trees: StampTreeCache | None) -> dict[str, Any]:
    """The bundle as a request would get it: a session of its own, the given cache."""
    with Session(app.extensions["db_engine"]) as session:
        return proof_bundle(session, serial, None, trees)


def stamp_root(bundle: dict[str, Any]) -> bytes:
    return bytes.fromhex(bundle["document"]["stamp_root"].removeprefix("0x"))


def proves(bundle: dict[str, Any]) -> bool:
    """Whether the serial's path leads to the document's stamp root, and on to the anchor."""
    path = [bytes.fromhex(step.removeprefix("0x")) for step in bundle["stamp"]["path"]]
    leaf = leaf_hash(leaf_value_for(bundle["stamp"]["serial"]))
    paths_ok = all(check.ok for check in check_paths(parse_bundle(bundle)))
    return paths_ok and process_proof(leaf, path) == stamp_root(bundle)


def test_a_cached_proof_is_the_one_a_fresh_tree_gives(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    serials = mint(session, farm_a, 9)
    anchor_everything(app)
    trees = StampTreeCache()
    for serial in serials + serials:  # the second pass is served from the cache
        cached = bundle_of(app, serial, trees)
        assert cached == bundle_of(app, serial, None)
        assert proves(cached)
    assert trees.held == 9  # one tree for the lot, kept


def test_a_lot_anchored_again_with_more_stamps_proves_against_the_new_root(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    trees = StampTreeCache()
    old = mint(session, farm_a, 4)
    anchor_everything(app)
    first = bundle_of(app, old[0], trees)
    assert proves(first)

    new = mint(session, farm_a, 3)
    with pytest.raises(ProofPending):  # minted after the anchored version
        bundle_of(app, new[0], trees)
    anchor_everything(app)

    for serial in (new[0], old[0]):
        bundle = bundle_of(app, serial, trees)
        assert bundle["document"]["stamp_count"] == 7
        assert stamp_root(bundle) != stamp_root(first)
        assert proves(bundle)
        assert bundle == bundle_of(app, serial, None)


def test_a_version_without_new_stamps_shares_the_lots_tree(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    serials = mint(session, farm_a, 4)
    anchor_everything(app)
    trees = StampTreeCache()
    first = bundle_of(app, serials[0], trees)
    record_cooling(session, farm_a)
    anchor_everything(app)
    again = bundle_of(app, serials[0], trees)
    assert again["document"] != first["document"]  # a new version, with the event
    assert again["stamp"] == first["stamp"] and proves(again)
    assert trees.held == 4


def test_the_cache_forgets_the_least_recently_used_trees_past_its_leaf_budget() -> None:
    def tree(size: int) -> PackedTree:
        return MerkleTree.of(leaf_value_for(f"{size}-{i}") for i in range(size)).packed()

    trees = StampTreeCache(leaves=10)
    a, b, c = tree(4), tree(4), tree(4)
    trees.put((1, 4, "a"), a)
    trees.put((2, 4, "b"), b)
    assert trees.get((1, 4, "a")) is a  # now the most recently used
    trees.put((3, 4, "c"), c)
    assert trees.held == 8
    assert trees.get((2, 4, "b")) is None
    assert trees.get((1, 4, "a")) is a and trees.get((3, 4, "c")) is c
    trees.put((4, 11, "d"), tree(11))  # larger than the whole budget: not kept
    assert trees.get((4, 11, "d")) is None and trees.held == 8


class TestABudgetOfOneLot:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "PROOF_TREE_CACHE_LEAVES": 6}

    def test_proofs_stay_right_while_each_lot_pushes_the_other_out(
        self, app: Flask, session: Session, farm_a: Farm, farm_b: Farm
    ) -> None:
        serials = {farm.lot_id: mint(session, farm, 4) for farm in (farm_a, farm_b)}
        anchor_everything(app)
        client = app.test_client()
        trees = app.extensions["stamp_proof_trees"]
        for _ in range(2):
            for lot_id, lot_serials in serials.items():
                response = client.get(f"/proofs/{lot_serials[1]}.json")
                bundle = response.json
                assert response.status_code == 200 and bundle is not None
                assert bundle["document"]["lot"]["id"] == lot_id
                assert proves(bundle)
                assert trees.held == 4  # the other lot's tree was forgotten


def test_the_leaf_budget_is_read_from_the_environment(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROOF_TREE_CACHE_LEAVES", "1234")
    app = create_app(app_config)
    try:
        assert app.extensions["stamp_proof_trees"].budget == 1234
    finally:
        close_app(app)


def test_a_tree_that_misses_the_anchored_root_is_refused_and_not_kept(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    serials = mint(session, farm_a, 4)
    anchor_everything(app)
    # Someone rewrites a serial behind the service's back.
    session.execute(
        text("UPDATE stamps SET serial = :new WHERE serial = :old"),
        {"new": "0" * len(serials[3]), "old": serials[3]},
    )
    session.commit()
    trees = StampTreeCache()
    with pytest.raises(InvalidProof):
        bundle_of(app, serials[0], trees)
    assert trees.held == 0

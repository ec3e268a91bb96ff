"""Lots' stamp trees are in the host's store before their first proof is asked (issue 21).

Minting stores the lot's new tree under the key its anchored document will name, and
``flask proof-trees`` stores the trees of anchored lots minted before that (or of a new
host, or a deleted store). A proof of such a lot then reads no serials and builds no tree,
and answers what the full path answers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import api, proof_trees, proofs
from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp
from stamps.proof_store import TreeKey, tree_store
from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from tests.stamps.test_verdict_surfaces import inspector_token  # noqa: F401 - a fixture
from trace.anchoring import anchored_version

Answer = tuple[int, bytes]


def mint(app: Flask, farm: Farm, count: int, in_app: bool = True) -> list[str]:
    """Mint and activate a run, as a request does (in the app) or a script (outside)."""
    with Session(app.extensions["db_engine"]) as session:
        if in_app:
            with app.app_context():
                run = mint_stamps(session, farm.actor, farm.lot_id, count, "1")
        else:
            run = mint_stamps(session, farm.actor, farm.lot_id, count, "1")
        activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]
        statement = select(Stamp.serial).where(Stamp.run_id == run.id).order_by(col(Stamp.id))
        return list(session.exec(statement))


def anchored_key(app: Flask, lot_id: int) -> TreeKey:
    """The tree key a proof of the lot asks for: its anchored document's count and root."""
    with Session(app.extensions["db_engine"]) as session:
        found = anchored_version(session, lot_id)
        assert found is not None
        document = json.loads(found[0].canonical_json)
    return (lot_id, document["stamp_count"], document["stamp_root"])


class Inspector:
    """The inspector API's proofs, each asked of one path; counts the lean path's answers."""

    def __init__(self, app: Flask, client: Any, token: str, monkeypatch: pytest.MonkeyPatch):
        self.app, self.client, self.monkeypatch = app, client, monkeypatch
        self.headers = {"Authorization": f"Bearer {token}"}
        self.lean = 0
        original = api.lean_proof

        def counted(*args: Any, **kwargs: Any) -> Any:
            answer = original(*args, **kwargs)
            self.lean += answer is not None
            return answer

        monkeypatch.setattr(api, "lean_proof", counted)

    def verdict(self, serial: str) -> int:
        """Ask the verdict (the lot's story is then read for today, as a sweep would)."""
        return self.client.get(f"/api/v1/stamps/{serial}", headers=self.headers).status_code

    def proof(self, serial: str) -> Answer:
        """The lean path's answer, as a worker that has the lot's tree in no memory."""
        self.app.extensions["stamp_proof_trees"].clear()
        answer = self.client.get(f"/api/v1/stamps/{serial}/proof", headers=self.headers)
        return answer.status_code, answer.get_data()

    def full_proof(self, serial: str) -> Answer:
        with self.monkeypatch.context() as off:
            off.setattr(api, "lean_proof", lambda *a, **k: None)
            return self.proof(serial)


@pytest.fixture
def inspector_api(
    app: Flask,
    client: Any,
    inspector_token: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Inspector:
    return Inspector(app, client, inspector_token, monkeypatch)


def no_tree_building(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make building a tree from serials fail; returns the sizes it was asked for."""
    built: list[int] = []

    def refused(serials: list[str]) -> None:
        built.append(len(serials))
        raise AssertionError("the lot's tree was built from its serials")

    monkeypatch.setattr(proofs, "tree_of_serials", refused)
    return built


def test_minting_stores_the_tree_a_later_proof_asks_for_so_it_reads_no_serials(
    app: Flask, farm_a: Farm, inspector_api: Inspector, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tree_store(app)
    assert store is not None
    first = mint(app, farm_a, 3)
    anchor_everything(app)
    assert anchored_key(app, farm_a.lot_id)[1] == 3
    assert store.holds(anchored_key(app, farm_a.lot_id))
    second = mint(app, farm_a, 2)  # a second run: the tree over all five is stored
    anchor_everything(app)
    key = anchored_key(app, farm_a.lot_id)
    assert key[1] == 5
    stored = store.get(key)
    assert stored is not None and f"0x{stored.root.hex()}" == key[2]

    serials = [first[0], second[1]]
    full = {serial: inspector_api.full_proof(serial) for serial in serials}
    assert all(status == 200 for status, _ in full.values())
    built = no_tree_building(monkeypatch)
    for serial in serials:
        assert inspector_api.proof(serial) == full[serial]
    assert inspector_api.lean == len(serials)  # the lean path answered, from the store
    assert built == []


def test_a_run_minted_outside_an_app_stores_nothing_and_fails_nothing(
    app: Flask, farm_a: Farm
) -> None:
    serials = mint(app, farm_a, 2, in_app=False)
    assert len(serials) == 2
    folder = Path(app.instance_path) / "proof-trees"
    assert not list(folder.glob("*.tree"))


def test_a_store_that_refuses_the_write_does_not_fail_the_mint(app: Flask, farm_a: Farm) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    (Path(app.instance_path) / "proof-trees").write_text("not a folder")
    assert len(mint(app, farm_a, 2)) == 2


def test_proof_trees_stores_missing_trees_of_the_anchored_stamps_and_skips_present_ones(
    app: Flask,
    farm_a: Farm,
    farm_b: Farm,
    inspector_api: Inspector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serials = mint(app, farm_a, 4) + mint(app, farm_b, 3)
    anchor_everything(app)
    later = mint(app, farm_a, 2)  # not anchored: the stored tree counts the first four
    shutil.rmtree(Path(app.instance_path) / "proof-trees", ignore_errors=True)  # a new host
    full = {serial: inspector_api.full_proof(serial) for serial in serials}
    assert all(status == 200 for status, _ in full.values())
    assert inspector_api.full_proof(later[0])[0] == 409

    runner = app.test_cli_runner()
    done = runner.invoke(args=["proof-trees"])
    assert done.exit_code == 0, done.output
    assert "2 lots stored, 0 skipped as present" in done.output
    store = tree_store(app)
    assert store is not None
    assert store.holds(anchored_key(app, farm_a.lot_id))
    again = runner.invoke(args=["proof-trees"])
    assert "0 lots stored, 2 skipped as present" in again.output

    built = no_tree_building(monkeypatch)
    for serial in serials:
        assert inspector_api.proof(serial) == full[serial]
    assert inspector_api.lean == len(serials)
    assert built == []


def test_proof_trees_builds_in_several_processes(
    app: Flask, farm_a: Farm, farm_b: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    mint(app, farm_a, 3, in_app=False)
    mint(app, farm_b, 2, in_app=False)
    anchor_everything(app)
    monkeypatch.setattr(proof_trees, "CHUNK_LOTS", 1)  # one chunk per lot: two chunks
    done = app.test_cli_runner().invoke(args=["proof-trees", "--processes", "2"])
    assert done.exit_code == 0, done.output
    assert "2 lots stored, 0 skipped as present" in done.output
    store = tree_store(app)
    assert store is not None
    for farm in (farm_a, farm_b):
        key = anchored_key(app, farm.lot_id)
        stored = store.get(key)
        assert stored is not None and f"0x{stored.root.hex()}" == key[2]


def test_proof_trees_stores_no_tree_that_misses_its_document_root(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    serials = mint(app, farm_a, 3, in_app=False)
    anchor_everything(app)
    stamp = session.exec(select(Stamp).where(Stamp.serial == serials[0])).one()
    stamp.serial = "FORGED00000001"  # the lot's serials no longer give the anchored root
    session.add(stamp)
    session.commit()
    done = app.test_cli_runner().invoke(args=["proof-trees"])
    assert "0 lots stored, 0 skipped as present, 1 not matching" in done.output
    store = tree_store(app)
    assert store is not None and not store.holds(anchored_key(app, farm_a.lot_id))

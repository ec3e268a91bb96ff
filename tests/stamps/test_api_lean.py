"""The inspector's verdict and proof bundle on the lean path (``stamps.api_lean``) answer
byte for byte what the full path answers, in every state a stamp can be in, and a warm
call asks nothing of the ORM session.

The full path's answer is taken from the same app and state with the lean path switched
off, right before the lean path's, so both read one state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlmodel import Session, select

from chain.canonical import canonical_json
from stamps import api, proofs
from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp, StampFlag, StampStatus
from tests.registry_fixtures import Farm
from tests.stamps.test_verdict_surfaces import (  # noqa: F401 - fixtures used by name
    Province,
    _stamp_id,
    inspector_token,
    make_tampered,
    province,
    set_stamp,
    suspend,
)
from trace.anchoring import anchored_version
from trace.models import User
from trace.services import tokens
from trace.services.access import Actor

Answer = tuple[int, bytes]


class Paths:
    """The API asked both ways; counts the answers the lean path gave itself."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = client
        self.monkeypatch = monkeypatch
        self.served = 0
        for name in ("lean_verdict", "lean_proof"):
            monkeypatch.setattr(api, name, self._counted(getattr(api, name)))

    def _counted(self, lean: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            answer = lean(*args, **kwargs)
            self.served += answer is not None
            return answer

        return counted

    def ask(self, url: str, token: str) -> tuple[Answer, Answer]:
        """(full path, lean path) answers to ``url``."""
        headers = {"Authorization": f"Bearer {token}"}
        with self.monkeypatch.context() as off:
            off.setattr(api, "lean_verdict", lambda *a, **k: None)
            off.setattr(api, "lean_proof", lambda *a, **k: None)
            full = self.client.get(url, headers=headers)
        lean = self.client.get(url, headers=headers)
        return (full.status_code, full.get_data()), (lean.status_code, lean.get_data())


@pytest.fixture
def paths(client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paths]:
    yield Paths(client, monkeypatch)


def _farmer_token(session: Session, admin: User, farm: Farm) -> str:
    issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    return tokens.issue_token(session, issuer, farm.email, ("read",), None, "test").secret


def every_state(
    client: Any, session: Session, admin: User, place: Province, inspector: str
) -> tuple[list[str], list[str], str]:
    """Put the province's stamps in every state a verdict tells apart: a recalled lot, a
    tampered one, a void and a flagged stamp, a suspended producer, stamps minted after
    the round (a verdict, but no proof yet: 409). Returns the stamps minted before the
    round, every serial worth asking (with an unknown and a lower-case one) and a read
    token of farm b (which sees only its own stamps)."""
    runs = place.runs
    recalled = client.post(
        f"/api/v1/batches/{place.lot_ids['TL-2B']}/recall",
        json={"reason": "Listeria monocytogenes detected"},
        headers={"Authorization": f"Bearer {inspector}"},
    )
    assert recalled.status_code == 200, recalled.json
    make_tampered(session, place, "TL-REPACK-01")
    set_stamp(session, runs["TL-1"][1][0], status=StampStatus.VOID)
    set_stamp(session, runs["TL-1"][0][1], flagged=True, scan_count=3)
    session.add(StampFlag(stamp_id=_stamp_id(session, runs["TL-1"][0][1]), rule="scan_threshold"))
    session.commit()
    suspend(session, admin, place.farms["b"])
    farm_a = place.farms["a"]
    later = mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    activate_run(session, farm_a.actor, later.id)  # type: ignore[arg-type]
    unanchored = session.exec(select(Stamp.serial).where(Stamp.run_id == later.id)).first()
    serials = [s for run in runs.values() for stamps in run for s in stamps]
    asked = [*serials, str(unanchored), "NOSUCHSERIAL0001", runs["TL-1"][0][0].lower()]
    return serials, asked, _farmer_token(session, admin, place.farms["b"])


def test_every_state_answers_the_same_bytes_on_both_paths(
    app: Flask,
    client: Any,
    session: Session,
    admin: User,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    paths: Paths,
) -> None:
    serials, asked, farmer_b = every_state(client, session, admin, province, inspector_token)

    app.extensions["stamp_stories"].clear()
    for token in (inspector_token, farmer_b):
        for serial in asked:
            for url in (f"/api/v1/stamps/{serial}", f"/api/v1/stamps/{serial}/proof"):
                full, lean = paths.ask(url, token)
                assert lean == full, (url, full, lean)
    answered = {
        status for serial in asked for status, _ in paths.ask(f"/api/v1/stamps/{serial}", farmer_b)
    }
    assert answered == {200, 404}  # farm b's own stamps, and none of farm a's
    assert paths.served > len(serials)  # the lean path answered most of them itself


def test_a_warm_verdict_and_proof_ask_nothing_of_the_session(
    app: Flask,
    client: Any,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
) -> None:
    app.config["API_TOKEN_CACHE_SECONDS"] = 60  # as deployed: the token is not looked up
    serial = province.runs["TL-1"][0][0]
    bearer = {"Authorization": f"Bearer {inspector_token}"}
    urls = (f"/api/v1/stamps/{serial}", f"/api/v1/stamps/{serial}/proof")
    warm = [client.get(url, headers=bearer) for url in urls]  # story, tree and token kept
    assert [answer.status_code for answer in warm] == [200, 200]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        again = [client.get(url, headers=bearer) for url in urls]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [answer.get_data() for answer in again] == [answer.get_data() for answer in warm]
    assert statements == []


def _proof(client: Any, token: str, serial: str) -> Answer:
    answer = client.get(
        f"/api/v1/stamps/{serial}/proof", headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status_code, answer.get_data()


def test_a_worker_without_the_tree_in_memory_reads_the_one_stored_on_the_host(
    app: Flask,
    client: Any,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serial = province.runs["TL-2"][1][0]
    first = _proof(client, inspector_token, serial)  # the full path reads the lot's story
    assert first[0] == 200
    app.extensions["stamp_proof_trees"].clear()
    assert _proof(client, inspector_token, serial) == first  # the lean path builds, stores
    assert len(list((Path(app.instance_path) / "proof-trees").glob("*.tree"))) == 1
    app.extensions["stamp_proof_trees"].clear()  # another worker, or this one's evicted

    def no_rebuild(_serials: list[str]) -> None:
        raise AssertionError("the stored tree was not used")

    monkeypatch.setattr(proofs, "tree_of_serials", no_rebuild)
    assert _proof(client, inspector_token, serial) == first


def test_a_stored_tree_changed_behind_our_back_changes_no_answer(
    app: Flask,
    client: Any,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
) -> None:
    serial = province.runs["TL-1"][0][2]
    first = _proof(client, inspector_token, serial)
    app.extensions["stamp_proof_trees"].clear()
    assert _proof(client, inspector_token, serial) == first
    (stored,) = (Path(app.instance_path) / "proof-trees").glob("*.tree")
    data = bytearray(stored.read_bytes())
    data[32:96] = bytes(64)  # the root kept, both nodes under it forged
    stored.write_bytes(bytes(data))
    app.extensions["stamp_proof_trees"].clear()
    assert _proof(client, inspector_token, serial) == first


def _rewrite_anchored_document(session: Session, lot_id: int, change: Any) -> None:
    """Replace the text of the lot's anchored document version behind the service's back."""
    found = anchored_version(session, lot_id)
    assert found is not None
    version = found[0]
    version.canonical_json = change(version.canonical_json)
    session.add(version)
    session.commit()


def test_a_stored_document_changed_behind_our_back_gives_no_bundle_on_either_path(
    session: Session,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    paths: Paths,
) -> None:
    serial = province.runs["TL-2"][0][1]
    url = f"/api/v1/stamps/{serial}/proof"
    before, _ = paths.ask(url, inspector_token)  # the lot's story is read for today
    assert before[0] == 200
    served = paths.served

    def tamper(text: str) -> str:
        document = json.loads(text)
        document["lot"]["quantity"] = "1"  # canonical still, but not what was anchored
        return canonical_json(document).decode()

    _rewrite_anchored_document(session, province.lot_ids["TL-2"], tamper)
    full, lean = paths.ask(url, inspector_token)
    assert lean == full and full[0] != 200
    assert paths.served == served  # the lean path refused it too


def test_a_stored_document_in_another_json_spelling_is_still_proved_alike(
    session: Session,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    paths: Paths,
) -> None:
    serial = province.runs["TL-1"][1][1]
    url = f"/api/v1/stamps/{serial}/proof"
    before, _ = paths.ask(url, inspector_token)
    assert before[0] == 200
    # The same document, not in RFC 8785 form: its own hash is not the anchored one, but
    # canonicalised it is (as it always was checked).
    _rewrite_anchored_document(
        session, province.lot_ids["TL-1"], lambda text: json.dumps(json.loads(text), indent=1)
    )
    full, lean = paths.ask(url, inspector_token)
    assert lean == full == before


def test_the_scan_page_and_the_inspectors_lean_path_share_each_threads_connection(
    app: Flask,
) -> None:
    """One connection per thread for both (one SQLite page cache of up to 32 MB, not two:
    the factor-10 worker's memory)."""
    from stamps.api_lean import lean_statements
    from stamps.extensions import scan_statements

    shared = scan_statements(app)
    assert lean_statements(app).connections is shared
    assert app.wsgi_app.statements is shared  # type: ignore[attr-defined]
    assert lean_statements(app).connections.connection() is shared.connection()

"""Recall fan-out: one call marks the lot and its stamps, records an event, queues delisting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace.models import Event, Job, Lot, Product
from trace.services import lots

PHONE = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile",
    "Accept": "application/json",
}


def recall(api: Any, lot_id: int, reason: str = "Listeria monocytogenes detected") -> Any:
    response = api.post(f"/api/v1/batches/{lot_id}/recall", json={"reason": reason})
    assert response.status_code == 200, response.json
    return response.json


def test_recall_marks_the_lot_and_every_stamp_and_records_a_recall_event(
    inspector_api: Any, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    body = recall(inspector_api, farm_a.lot_id)
    session.expire_all()
    assert session.get(Lot, farm_a.lot_id).recalled_at is not None
    statuses = session.exec(select(Stamp.status).where(Stamp.lot_id == farm_a.lot_id)).all()
    assert set(statuses) == {"recalled"} and body["stamps"]["recalled"] == 5
    event = session.exec(select(Event).where(Event.kind == "recall")).one()
    assert event.details == {"reason": "Listeria monocytogenes detected"}
    assert body["event_id"] == event.id and body["already_recalled"] is False


def test_recall_queues_delisting_and_a_new_anchored_version(
    inspector_api: Any, session: Session, farm_a: Farm
) -> None:
    recall(inspector_api, farm_a.lot_id)
    delist = session.exec(select(Job).where(Job.kind == "marketplace.delist")).one()
    assert delist.payload == {
        "product_id": farm_a.product_id,
        "lot_id": farm_a.lot_id,
        "reason": "Listeria monocytogenes detected",
    }
    assert delist.dedupe_key == f"delist:{farm_a.lot_id}"
    documents = session.exec(select(Job).where(Job.dedupe_key == f"lotdoc:{farm_a.lot_id}")).all()
    assert [job.status for job in documents] == ["queued"]


def test_recalling_again_changes_nothing_and_reports_the_first_recall(
    inspector_api: Any, session: Session, farm_a: Farm, stamped: list[str], drain: Any
) -> None:
    first = recall(inspector_api, farm_a.lot_id)
    drain()  # the delisting and document jobs ran: a repeat must not queue them again
    second = recall(inspector_api, farm_a.lot_id, reason="a different reason")
    assert second["already_recalled"] is True and second["delisting_queued"] is False
    changed = {"already_recalled", "delisting_queued", "lots"}
    assert {k: v for k, v in second.items() if k not in changed} == {
        k: v for k, v in first.items() if k not in changed
    }
    assert len(session.exec(select(Event).where(Event.kind == "recall")).all()) == 1
    assert len(session.exec(select(Job).where(Job.kind == "marketplace.delist")).all()) == 1


def test_recall_lists_scanned_stamps_with_where_they_were_last_seen(
    inspector_api: Any, client: Any, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    path = f"/01/{gtin}/10/{lot.code}/21/{stamped[0]}"
    client.get(path, headers=PHONE, query_string={"consent": "1", "province": "Cần Thơ"}).close()
    body = recall(inspector_api, farm_a.lot_id)
    [scanned] = body["stamps"]["scanned"]
    assert scanned["serial"] == stamped[0] and scanned["last_scan_province"] == "Cần Thơ"
    assert scanned["uri"].endswith(path)
    verdict = client.get(path, headers=PHONE)
    assert verdict.json["verdict"] == "RECALLED"
    verdict.close()


def test_lots_made_from_a_recalled_lot_are_recalled_with_it(
    inspector_api: Any, session: Session, farm_a: Farm
) -> None:
    when = datetime.now().astimezone() - timedelta(hours=1)
    new = lots.NewLot(farm_a.product_id, "TL-1-DRIED", None, "100", "kg")
    dried = lots.transform_lots(
        session, farm_a.actor, [farm_a.lot_id], new, when, "Xưởng sấy", when.date()
    )
    new = lots.NewLot(farm_a.product_id, "TL-1-JAM", None, "50", "kg")
    jam = lots.transform_lots(
        session, farm_a.actor, [dried.id], new, when, "Xưởng mứt", when.date()
    )  # type: ignore[list-item]
    body = recall(inspector_api, farm_a.lot_id)
    assert [lot["id"] for lot in body["affected_lots"]] == [dried.id, jam.id]
    session.expire_all()
    assert session.get(Lot, jam.id).recall_origin_lot_id == farm_a.lot_id


def test_a_recall_needs_a_reason(inspector_api: Any, farm_a: Farm, session: Session) -> None:
    response = inspector_api.post(f"/api/v1/batches/{farm_a.lot_id}/recall", json={})
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "#/reason"
    assert session.exec(select(col(Lot.recalled_at))).one() is None


def test_the_scan_page_leads_with_a_red_recall_notice_and_what_to_do_in_both_languages(
    inspector_api: Any, app: Any, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    path = f"/01/{session.get(Product, lot.product_id).gtin}/10/{lot.code}/21/{stamped[0]}"
    recall(inspector_api, farm_a.lot_id)
    for language, words in (
        ("vi", ("Đã thu hồi", "Đừng sử dụng", "Thu hồi ngày")),
        ("en", ("Recalled", "Do not eat it", "Recalled on")),
    ):
        phone = app.test_client()
        phone.get(f"/lang/{language}").close()
        page = phone.get(path, headers={"User-Agent": PHONE["User-Agent"]})
        html = page.get_data(as_text=True)
        page.close()
        main = html[html.index("<main>") :]
        start = main.index('<section class="verdict bad"')  # red: .verdict.bad in app.css
        assert start < main.index("<h1>")  # the notice comes before anything else
        notice = main[start : main.index("</section>", start)]
        assert all(word in notice for word in words), (language, notice)
        timeline = main[main.index('<ol class="timeline">') :]
        assert "<b></b>" not in timeline  # the recall event is named in the journey
    assert "<b>Recall</b>" in timeline


def test_the_recall_event_is_anchored_in_the_next_round(
    inspector_api: Any, session: Session, farm_a: Farm, anchor: Any
) -> None:
    import json

    from trace.anchoring import anchored_version

    anchor()
    before, _ = anchored_version(session, farm_a.lot_id)
    body = recall(inspector_api, farm_a.lot_id)
    anchor()
    session.expire_all()
    version, round_ = anchored_version(session, farm_a.lot_id)
    assert version.version > before.version and round_.status == "confirmed"
    document = json.loads(version.canonical_json)
    assert document["lot"]["recalled_at"] is not None
    detail = inspector_api.get(f"/api/v1/batches/{farm_a.lot_id}").json
    [recall_event] = [e for e in detail["events"] if e["id"] == body["event_id"]]
    assert recall_event["event_hash_id"] in json.dumps(document["events"])


def test_a_recall_that_fails_part_way_changes_nothing(
    session: Session, farm_a: Farm, stamped: list[str], inspector: Any
) -> None:
    from marketplace.services import queue_delist
    from trace.services.accounts import actor_for
    from trace.services.recall import recall_lot

    def stamps_then_failure(hook_session: Session, lot_id: int) -> dict[str, Any]:
        from stamps.recall import recall_stamps

        recall_stamps(hook_session, lot_id)
        raise RuntimeError("a marketplace hook crashed")

    with pytest.raises(RuntimeError):
        recall_lot(
            session,
            actor_for(inspector),
            farm_a.lot_id,
            "Nhiễm khuẩn",
            [stamps_then_failure],
            delist=queue_delist,
        )
    session.expire_all()
    assert session.get(Lot, farm_a.lot_id).recalled_at is None
    assert set(session.exec(select(Stamp.status)).all()) == {"issued"}
    assert session.exec(select(Event).where(Event.kind == "recall")).all() == []
    assert session.exec(select(Job).where(Job.kind == "marketplace.delist")).all() == []


def test_a_full_disk_during_a_recall_is_a_503_problem_and_changes_nothing(
    app: Any, inspector_api: Any, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    import sqlite3

    from sqlalchemy import event

    engine = app.extensions["db_engine"]
    if engine.dialect.name == "postgresql":
        from psycopg.errors import DiskFull

        full: Exception = DiskFull("could not extend file: No space left on device")
    else:
        full = sqlite3.OperationalError("database or disk is full")

    def refuse_writes(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise full

    event.listen(engine, "do_execute", refuse_writes)
    try:
        response = inspector_api.post(
            f"/api/v1/batches/{farm_a.lot_id}/recall", json={"reason": "Nhiễm khuẩn"}
        )
    finally:
        event.remove(engine, "do_execute", refuse_writes)
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "300"
    assert "Traceback" not in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Lot, farm_a.lot_id).recalled_at is None
    recall(inspector_api, farm_a.lot_id)  # once space is back, the same recall goes through
    session.expire_all()
    assert session.get(Lot, farm_a.lot_id).recalled_at is not None

"""A recall follows the product: lots made from a recalled lot are recalled with it.

A (farm 1) → B (repack of A) → C (made from B and from D, a lot of farm 2). Each lot has
stamps in two runs, so a recall that touched the wrong lot or run would show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace.models import Event, Job, Lot, LotInput, Product
from trace.services import lots

PHONE = "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"
REASON = "Salmonella found in the packing house"


@dataclass
class Chain:
    a: int
    b: int
    c: int
    d: int  # farm B's lot, an input of C only


@pytest.fixture
def chain(session: Session, farm_a: Farm, farm_b: Farm) -> Chain:
    when = datetime.now().astimezone() - timedelta(hours=1)
    repack = lots.NewLot(farm_a.product_id, "TL-REPACK-01", None, "100", "kg")
    b = lots.transform_lots(
        session, farm_a.actor, [farm_a.lot_id], repack, when, "Kho", when.date()
    )
    mix = lots.NewLot(farm_a.product_id, "TL-MIX-01", None, "50", "kg")
    c = lots.transform_lots(session, farm_a.actor, [b.id], mix, when, "Xưởng", when.date())  # type: ignore[list-item]
    # transform_lots takes only the actor's own lots: C's input from farm B is written as
    # the edge the lot graph would hold for a transformation across producers.
    event_id = session.exec(select(LotInput.event_id).where(LotInput.output_lot_id == c.id)).one()
    session.add(LotInput(output_lot_id=c.id, input_lot_id=farm_b.lot_id, event_id=event_id))  # type: ignore[arg-type]
    session.commit()
    for farm, lot_id in ((farm_a, farm_a.lot_id), (farm_a, b.id), (farm_a, c.id)):
        for count in (3, 2):
            minting.mint_stamps(session, farm.actor, lot_id, count, "1")  # type: ignore[arg-type]
    for count in (3, 2):
        minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, count, "1")
    return Chain(farm_a.lot_id, b.id, c.id, farm_b.lot_id)  # type: ignore[arg-type]


def recall(api: Any, lot_id: int, reason: str = REASON) -> Any:
    response = api.post(f"/api/v1/batches/{lot_id}/recall", json={"reason": reason})
    assert response.status_code == 200, response.json
    return response.json


def scan_paths(session: Session, lot_id: int) -> list[str]:
    lot = session.get(Lot, lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(select(Stamp.serial).where(Stamp.lot_id == lot_id)).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{serial}" for serial in serials]  # type: ignore[union-attr]


def verdicts(client: Any, session: Session, lot_id: int) -> set[str]:
    found = set()
    for path in scan_paths(session, lot_id):
        response = client.get(path, headers={"User-Agent": PHONE, "Accept": "application/json"})
        found.add(response.json["verdict"])
        response.close()
    return found


def test_recalling_a_lot_recalls_every_lot_made_from_it_and_names_the_origin(
    inspector_api: Any, client: Any, session: Session, chain: Chain
) -> None:
    body = recall(inspector_api, chain.a)
    assert [(lot["id"], lot["recalled_now"]) for lot in body["lots"]] == [
        (chain.a, True),
        (chain.b, True),
        (chain.c, True),
    ]
    assert [lot["stamps_recalled"] for lot in body["lots"]] == [5, 5, 5]
    assert [lot["recall_origin_lot_id"] for lot in body["lots"]] == [None, chain.a, chain.a]
    for lot_id in (chain.a, chain.b, chain.c):
        assert verdicts(client, session, lot_id) == {"RECALLED"}
    path = scan_paths(session, chain.c)[0]
    report = client.get(path, headers={"User-Agent": PHONE, "Accept": "application/json"}).json
    assert report["lot"]["recall"]["origin"]["lot_code"] == "TL-1"
    assert report["lot"]["recall"]["reason"] == REASON
    assert verdicts(client, session, chain.d) == {"GENUINE"}  # an input of C, not made from A
    session.expire_all()
    assert session.get(Lot, chain.d).recalled_at is None  # type: ignore[union-attr]


def test_the_scan_page_of_a_repacked_lot_says_which_lot_was_recalled_and_why(
    inspector_api: Any, app: Any, session: Session, chain: Chain
) -> None:
    recall(inspector_api, chain.a)
    path = scan_paths(session, chain.b)[0]
    for language, words in (
        ("en", ("Recalled", "Made from lot TL-1", "because: " + REASON)),
        ("vi", ("Đã thu hồi", "Làm từ lô TL-1", "lý do: " + REASON)),
    ):
        phone = app.test_client()
        phone.get(f"/lang/{language}").close()
        page = phone.get(path, headers={"User-Agent": PHONE})
        html = page.get_data(as_text=True)
        page.close()
        start = html.index('<section class="verdict bad"')
        notice = html[start : html.index("</section>", start)]
        assert all(word in notice for word in words), (language, notice)


def test_every_lot_reached_is_delisted_and_gets_a_new_document_and_a_recall_event(
    inspector_api: Any, session: Session, chain: Chain
) -> None:
    recall(inspector_api, chain.a)
    delisted = session.exec(select(Job).where(Job.kind == "marketplace.delist")).all()
    assert sorted(job.payload["lot_id"] for job in delisted) == [chain.a, chain.b, chain.c]
    documents = session.exec(select(Job.dedupe_key).where(col(Job.dedupe_key).like("lotdoc:%")))
    assert {f"lotdoc:{i}" for i in (chain.a, chain.b, chain.c)} <= set(documents.all())
    assert f"lotdoc:{chain.d}" not in set(documents.all())
    events = session.exec(select(Event).where(Event.kind == "recall")).all()
    by_lot = {event.lot_id: event.details for event in events}
    assert set(by_lot) == {chain.a, chain.b, chain.c}
    assert by_lot[chain.c] == {
        "reason": REASON,
        "origin_lot_id": chain.a,
        "origin_lot_code": "TL-1",
    }


def test_recalling_an_output_lists_its_inputs_and_leaves_them_alone(
    inspector_api: Any, client: Any, session: Session, chain: Chain
) -> None:
    body = recall(inspector_api, chain.c)
    assert [lot["id"] for lot in body["lots"]] == [chain.c]
    inputs = [lot["id"] for lot in body["input_lots"]]
    assert set(inputs[:2]) == {chain.b, chain.d} and inputs[2:] == [chain.a]  # nearest first
    assert all(lot["recalled_at"] is None for lot in body["input_lots"])
    assert verdicts(client, session, chain.c) == {"RECALLED"}
    for lot_id in (chain.a, chain.b, chain.d):
        assert verdicts(client, session, lot_id) == {"GENUINE"}
    delisted = session.exec(select(Job).where(Job.kind == "marketplace.delist")).all()
    assert [job.payload["lot_id"] for job in delisted] == [chain.c]


def test_recalling_again_changes_nothing_and_says_so(
    inspector_api: Any, session: Session, chain: Chain, drain: Any
) -> None:
    first = recall(inspector_api, chain.a)
    drain()
    events_before = len(session.exec(select(Event)).all())
    jobs_before = len(session.exec(select(Job)).all())
    second = recall(inspector_api, chain.a, reason="another reason")
    assert second["already_recalled"] is True and second["delisting_queued"] is False
    assert [lot["recalled_now"] for lot in second["lots"]] == [False, False, False]
    assert [lot["stamps_recalled"] for lot in second["lots"]] == [5, 5, 5]
    assert second["reason"] == first["reason"] == REASON
    assert len(session.exec(select(Event)).all()) == events_before
    assert len(session.exec(select(Job)).all()) == jobs_before


def test_a_lot_recalled_on_its_own_keeps_its_own_reason_when_its_source_is_recalled(
    inspector_api: Any, session: Session, chain: Chain
) -> None:
    recall(inspector_api, chain.b, reason="Labels misprinted")
    body = recall(inspector_api, chain.a)
    assert [(lot["id"], lot["recalled_now"]) for lot in body["lots"]] == [
        (chain.a, True),
        (chain.b, False),
        (chain.c, False),
    ]
    assert [lot["recall_reason"] for lot in body["lots"]] == [
        REASON,
        "Labels misprinted",
        "Labels misprinted",
    ]
    assert body["lots"][2]["recall_origin_lot_id"] == chain.b

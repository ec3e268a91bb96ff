"""Integrity: a lot whose data was changed behind the service's back shows TAMPERED."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from chain.testing import FakeChainClient
from stamps import minting
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace import jobs
from trace.anchoring import check_integrity, integrity, refresh_document
from trace.anchoring.documents import build_document
from trace.models import Job, Lot, LotDocument, Product
from trace.services import events
from trace.services.changes import JOB_DOCUMENT, change_queued
from trace.services.events import NewEvent


def test_untouched_anchored_lot_is_intact(
    session: Session, farm_a: Farm, fake_chain: FakeChainClient, anchor_round: Callable[[], None]
) -> None:
    anchor_round()
    report = check_integrity(session, farm_a.lot_id)
    assert report.status == "intact" and report.current_hash == report.anchored_hash


def test_harvest_date_changed_in_the_database_marks_the_lot_tampered(
    client,  # type: ignore[no-untyped-def]
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    anchor_round()
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"),
        {"d": "2020-01-01", "id": farm_a.lot_id},
    )
    session.commit()
    report = check_integrity(session, farm_a.lot_id)
    assert report.status == "tampered" and report.current_hash != report.anchored_hash
    assert session.get(Lot, farm_a.lot_id).tampered_at is not None
    stamp = session.exec(select(Stamp)).first()
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin
    path = f"/01/{gtin}/10/{lot.code}/21/{stamp.serial}"
    report_json = client.get(path, headers={"Accept": "application/json", "User-Agent": "t"}).json
    assert report_json["anchoring"]["status"] == "tampered"
    page = client.get(path + "?lang=en", headers={"User-Agent": "Mozilla/5.0"})
    assert "TAMPERED" in page.get_data(as_text=True)


def test_a_legitimate_change_is_not_tampering(
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
    drain: Callable[[], int],
) -> None:
    anchor_round()
    new = NewEvent("shipping", datetime(2026, 1, 3, tzinfo=UTC), "Vườn", {"destination": "Chợ"})
    events.record_event(session, farm_a.actor, farm_a.lot_id, new)
    assert check_integrity(session, farm_a.lot_id).status == "changing"
    drain()
    assert check_integrity(session, farm_a.lot_id).status == "intact"


def test_tampered_history_is_never_laundered_into_a_new_version(
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
) -> None:
    anchor_round()
    session.execute(text("UPDATE lots SET quantity = 9999 WHERE id = :id"), {"id": farm_a.lot_id})
    session.commit()
    assert refresh_document(session, farm_a.lot_id) is None
    assert len(session.exec(select(LotDocument)).all()) == 1
    assert session.get(Lot, farm_a.lot_id).tampered_at is not None


def test_an_edited_stored_document_is_tampering(
    session: Session, farm_a: Farm, fake_chain: FakeChainClient, anchor_round: Callable[[], None]
) -> None:
    anchor_round()
    version = session.exec(select(LotDocument)).one()
    version.canonical_json = version.canonical_json.replace("TL-1", "TL-9")
    session.add(version)
    session.commit()
    report = check_integrity(session, farm_a.lot_id)
    assert report.status == "tampered" and "stored document" in (report.reason or "")


def test_the_sweep_goes_through_every_anchored_lot_in_slices(
    app,  # type: ignore[no-untyped-def]
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
) -> None:
    from trace import jobs
    from trace.anchoring.integrity import sweep_integrity
    from trace.anchoring.jobs import JOB_SWEEP

    anchor_round()
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"),
        {"d": "2020-01-01", "id": farm_b.lot_id},
    )
    session.commit()
    first = sweep_integrity(session, 0, limit=1)
    assert (first.checked, first.tampered) == (1, []) and first.next_after == farm_a.lot_id
    second = sweep_integrity(session, first.next_after, limit=1)
    assert second.tampered == [farm_b.lot_id]
    assert sweep_integrity(session, second.next_after or 0, limit=1).checked == 0
    # The background job walks the same slices and marks the lot on its own.
    session.execute(text("UPDATE lots SET tampered_at = NULL"))
    session.commit()
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
    session.commit()
    with app.app_context():
        while jobs.run_one(app, session, "sweeper"):
            pass
    session.expire_all()
    assert session.get(Lot, farm_b.lot_id).tampered_at is not None
    assert session.get(Lot, farm_a.lot_id).tampered_at is None


def test_a_refresh_finishing_during_the_check_is_not_tampering(
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
    drain: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker commits the new version and finishes its job between the check's reads.

    The check read the old version, then the lot's new data and a queue with no change
    left in it: a genuine lot, which must not be marked tampered (seen on PostgreSQL in CI:
    a consumer scanning a just-activated stamp was told BỊ SỬA ĐỔI).
    """
    anchor_round()
    new = NewEvent("shipping", datetime(2026, 1, 3, tzinfo=UTC), "Vườn", {"destination": "Chợ"})
    events.record_event(session, farm_a.actor, farm_a.lot_id, new)
    calls: list[str] = []

    def worker_finishes_first(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if not calls:
            calls.append("drained")
            assert drain() >= 1  # the refresh commits after the version was read
        return build_document(*args, **kwargs)

    monkeypatch.setattr(integrity, "build_document", worker_finishes_first)
    report = check_integrity(session, farm_a.lot_id)
    assert calls == ["drained"]
    assert report.status == "intact", report
    assert session.get(Lot, farm_a.lot_id).tampered_at is None


def test_a_change_made_while_its_refresh_runs_gets_a_refresh_of_its_own(
    app,  # type: ignore[no-untyped-def]
    session: Session,
    farm_a: Farm,
    fake_chain: FakeChainClient,
    anchor_round: Callable[[], None],
    drain: Callable[[], int],
) -> None:
    """A running refresh may have read the lot before the change: it must not swallow it."""
    anchor_round()
    first = NewEvent("shipping", datetime(2026, 1, 3, tzinfo=UTC), "Vườn", {"destination": "Chợ"})
    events.record_event(session, farm_a.actor, farm_a.lot_id, first)
    running = jobs.claim(session, "worker-1", [JOB_DOCUMENT])
    assert running is not None and running.dedupe_key == f"lotdoc:{farm_a.lot_id}"
    second = NewEvent("shipping", datetime(2026, 1, 4, tzinfo=UTC), "Chợ", {"destination": "Huế"})
    events.record_event(session, farm_a.actor, farm_a.lot_id, second)
    waiting = session.exec(
        select(Job).where(Job.kind == JOB_DOCUMENT, Job.status == jobs.QUEUED)
    ).all()
    assert [job.dedupe_key for job in waiting] == [f"lotdoc:{farm_a.lot_id}"]
    session.refresh(running)
    assert running.dedupe_key == f"lotdoc:{farm_a.lot_id}#running:{running.id}"
    assert change_queued(session, farm_a.lot_id)
    # The running job ends (as if it had read the lot before the second event); the change
    # still reaches a version.
    session.execute(update(Job).where(col(Job.id) == running.id).values(status=jobs.DONE))
    session.commit()
    assert check_integrity(session, farm_a.lot_id).status == "changing"
    drain()
    assert check_integrity(session, farm_a.lot_id).status == "intact"
    assert not change_queued(session, farm_a.lot_id)


def test_a_second_change_while_a_refresh_is_queued_adds_nothing(
    session: Session, farm_a: Farm, fake_chain: FakeChainClient, anchor_round: Callable[[], None]
) -> None:
    anchor_round()
    for day in (3, 4):
        new = NewEvent(
            "shipping", datetime(2026, 1, day, tzinfo=UTC), "Vườn", {"destination": "Chợ"}
        )
        events.record_event(session, farm_a.actor, farm_a.lot_id, new)
    queued = session.exec(select(Job).where(Job.kind == JOB_DOCUMENT, Job.status == jobs.QUEUED))
    assert len(queued.all()) == 1

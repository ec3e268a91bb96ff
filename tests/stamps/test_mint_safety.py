"""Minting cannot stall scans, overrun a lot or a day's cap, or leave half a run behind."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from stamps import mint_runs, minting
from stamps.mint_limits import MintLimits
from stamps.models import Stamp, StampRun
from tests.registry_fixtures import Farm, login
from trace.errors import ValidationError
from trace.models import Lot
from trace.models.base import utcnow


def stamp_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Stamp)).one()


def set_quantity(session: Session, lot_id: int, quantity: str) -> None:
    session.get(Lot, lot_id).quantity = Decimal(quantity)  # type: ignore[union-attr]
    session.commit()


@pytest.mark.parametrize(
    ("pack_size", "unit_note"),
    [("0.000000001", "0.01 kg"), ("1e-30", "0.01 kg"), ("0.005", "0.01 kg")],
)
def test_a_pack_below_the_units_smallest_is_refused_and_nothing_is_minted(
    session: Session, farm_a: Farm, pack_size: str, unit_note: str
) -> None:
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 100_000, pack_size)
    assert unit_note in str(error.value.errors["pack_size"])
    assert stamp_count(session) == 0


def test_a_one_kg_lot_cannot_carry_a_hundred_thousand_stamps(
    session: Session, farm_a: Farm
) -> None:
    set_quantity(session, farm_a.lot_id, "1")
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 100_000, "0.01")
    assert "Mass balance" in str(error.value.errors["count"])
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 100, "0.01")  # exactly 1 kg
    assert stamp_count(session) == 100


def test_runs_per_lot_are_capped(session: Session, farm_a: Farm) -> None:
    limits = MintLimits(runs_per_lot=2)
    for _ in range(2):
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1", limits)
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1", limits)
    assert "2 stamp runs" in str(error.value.errors["count"])
    assert stamp_count(session) == 2


def test_stamps_per_producer_per_day_are_capped_across_lots(
    session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    limits = MintLimits(stamps_per_day=30)
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 20, "1", limits)
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 11, "1", limits)
    assert "10 more" in str(error.value.errors["count"])
    minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 30, "1", limits)  # another producer
    # Runs older than a day no longer count.
    session.execute(update(StampRun).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1", limits)


def test_the_daily_cap_answers_in_the_form_and_as_problem_json_in_both_languages(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    app.config["MINT_MAX_STAMPS_PER_DAY"] = 5
    client = login(app.test_client(), farm_a.email)
    for language, words in (("en", "At most 5 stamps a day"), ("vi", "Tối đa 5 tem mỗi ngày")):
        client.set_cookie("lang", language)
        page = client.post(
            f"/lots/{farm_a.lot_id}/stamps", data={"mint-count": "6", "mint-pack_size": "1"}
        )
        assert page.status_code == 422 and words in page.get_data(as_text=True)
    assert stamp_count(session) == 0


def test_a_run_being_written_is_invisible_until_published_at_once(
    session: Session, farm_a: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mint_runs, "CHUNK", 10)
    seen: list[tuple[dict[str, int], int, int]] = []
    insert = minting._insert_stamps

    def watched(s: Session, lot_id: int, run_id: int, serials: list[str]) -> None:
        insert(s, lot_id, run_id, serials)
        with Session(s.get_bind()) as other:  # what another request sees meanwhile
            lot = other.get(Lot, lot_id)
            seen.append(
                (
                    minting.status_counts(other, lot_id),
                    lot.stamp_count,
                    len(minting.runs_of_lot(other, lot_id)),
                )  # type: ignore[union-attr]
            )

    monkeypatch.setattr(minting, "_insert_stamps", watched)
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 35, "1")
    assert len(seen) == 4  # four chunks, each committed on its own
    assert all(view == ({}, 0, 0) for view in seen)
    assert minting.status_counts(session, farm_a.lot_id) == {"issued": 35}


def test_a_run_still_being_minted_cannot_be_activated_nor_minted_beside(
    session: Session, farm_a: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mint_runs, "CHUNK", 10)
    renew, refusals = mint_runs._renew, []

    def meanwhile(s: Session, run_id: int) -> None:
        if not refusals and not s.in_transaction():  # between two chunks
            with Session(s.get_bind()) as other:  # another request of the farmer's
                for attempt in (
                    lambda: minting.activate_run(other, farm_a.actor, run_id),
                    lambda: minting.mint_stamps(other, farm_a.actor, farm_a.lot_id, 1, "1"),
                ):
                    with pytest.raises(ValidationError) as error:
                        attempt()
                    refusals.append(str(error.value.errors["count"]))
        renew(s, run_id)

    monkeypatch.setattr(mint_runs, "_renew", meanwhile)
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 20, "1")
    assert "still being minted" in refusals[0] and "being minted for this lot" in refusals[1]
    assert stamp_count(session) == 20


def test_a_failure_half_way_leaves_no_stamps_and_no_run(
    session: Session, farm_a: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mint_runs, "CHUNK", 10)
    insert, calls = minting._insert_stamps, []

    def failing(s: Session, lot_id: int, run_id: int, serials: list[str]) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        insert(s, lot_id, run_id, serials)

    monkeypatch.setattr(minting, "_insert_stamps", failing)
    with pytest.raises(OSError):
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 50, "1")
    assert stamp_count(session) == 0
    assert session.exec(select(func.count()).select_from(StampRun)).one() == 0
    assert session.get(Lot, farm_a.lot_id).stamp_count == 0  # type: ignore[union-attr]


def test_a_run_abandoned_by_a_dead_writer_is_discarded_by_the_next_mint(
    session: Session, farm_a: Farm
) -> None:
    # What a writer killed after two chunks leaves: a pending run and some of its stamps.
    dead = StampRun(
        lot_id=farm_a.lot_id, count=100, pack_size=Decimal(1), created_by_id=farm_a.user.id
    )
    dead.pending_until = mint_runs.lease_end()
    session.add(dead)
    session.commit()
    minting._insert_stamps(session, farm_a.lot_id, dead.id, ["DEAD000000001", "DEAD000000002"])  # type: ignore[arg-type]
    session.commit()
    with pytest.raises(ValidationError):  # its lease has not run out: it may be alive
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 5, "1")
    session.execute(update(StampRun).values(pending_until=utcnow() - timedelta(seconds=1)))
    session.commit()
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 5, "1")
    assert session.exec(select(col(Stamp.run_id)).distinct()).all() == [run.id]
    assert session.exec(select(func.count()).select_from(StampRun)).one() == 1
    assert not session.exec(select(Stamp).where(col(Stamp.serial).startswith("DEAD"))).all()
    assert stamp_count(session) == 5


def test_a_scan_can_log_itself_between_the_chunks_of_a_big_run(
    app: Flask, session: Session, farm_a: Farm, farm_b: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer: between two chunks a scan's write goes through without waiting."""
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 1, "1")
    scanned = session.exec(select(Stamp.id)).one()
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    monkeypatch.setattr(mint_runs, "CHUNK", 10)
    renew, logged = mint_runs._renew, []

    def scan_then_renew(s: Session, run_id: int) -> None:
        if not s.in_transaction():  # a chunk has committed and the next one has not begun
            scanner = sqlite3.connect(path, timeout=0)  # no waiting for the lock at all
            scanner.execute(
                "INSERT INTO scans (stamp_id, scanned_at, client_hash, user_agent) "
                "VALUES (?, '2026-01-01 00:00:00', 'client', 'phone')",
                (scanned,),
            )
            scanner.commit()
            scanner.close()
            logged.append(run_id)
        renew(s, run_id)

    monkeypatch.setattr(mint_runs, "_renew", scan_then_renew)
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")
    assert len(logged) == 3  # before each of the three chunks
    assert minting.status_counts(session, farm_a.lot_id) == {"issued": 30}


def test_two_mints_at_once_cannot_both_pass_the_mass_balance(app: Flask, farm_a: Farm) -> None:
    """Two connections mint 300 kg each on a 500 kg lot at the same moment: one wins."""
    engine = app.extensions["db_engine"]
    start, outcomes = threading.Barrier(2), []

    def mint() -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            try:
                minting.mint_stamps(own, farm_a.actor, farm_a.lot_id, 300, "1")
                outcomes.append("minted")
            except ValidationError as error:
                outcomes.append(str(error.errors["count"]))

    threads = [threading.Thread(target=mint) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes)[-1] == "minted" and outcomes.count("minted") == 1, outcomes
    with Session(engine) as check:
        assert stamp_count(check) == 300


def test_two_activations_at_once_cannot_both_pass_the_mass_balance(
    app: Flask, session: Session, farm_a: Farm
) -> None:
    first = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 300, "1")
    set_quantity(session, farm_a.lot_id, "900")  # a correction: now room for a second run
    second = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 300, "1")
    set_quantity(session, farm_a.lot_id, "500")  # and back: only one run can go on product
    engine = app.extensions["db_engine"]
    start, outcomes = threading.Barrier(2), []

    def activate(run_id: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            try:
                minting.activate_run(own, farm_a.actor, run_id)
                outcomes.append("active")
            except ValidationError:
                outcomes.append("refused")

    threads = [threading.Thread(target=activate, args=(r.id,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["active", "refused"]
    with Session(engine) as check:
        assert minting.status_counts(check, farm_a.lot_id) == {"active": 300, "issued": 300}

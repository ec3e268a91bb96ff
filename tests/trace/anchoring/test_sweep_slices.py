"""The integrity sweep in slices that several workers take at once: the sweep's first job
queues one job per slice, each slice job checks its own range, and the whole sweep checks
every lot once and finds a tampered lot in whichever slice it lies. ``flask integrity
--processes N`` checks the same slices in N processes and says what one process says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, select

from chain.testing import FakeChainClient
from stamps.models import VerifiedStory
from tests.registry_fixtures import Farm
from trace import jobs
from trace.anchoring import integrity
from trace.anchoring import jobs as anchoring_jobs
from trace.anchoring.jobs import JOB_SWEEP, run_sweep
from trace.models import Job, Lot


@pytest.fixture
def lots(
    make_farm: Callable[[int], Farm], fake_chain: FakeChainClient, anchor_round: Callable[[], None]
) -> list[int]:
    """Three anchored lots, by id."""
    found = sorted(make_farm(n).lot_id for n in (1, 2, 3))
    anchor_round()
    return found


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every lot the sweep announces intact, in order (the stories are shared as before)."""
    heard: list[int] = []
    announce = integrity.lot_verified

    def listen(session: Session, lot_id: int) -> bool:
        heard.append(lot_id)
        return announce(session, lot_id)

    monkeypatch.setattr(integrity, "lot_verified", listen)
    return heard


def _tamper(session: Session, lot_id: int) -> None:
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"), {"d": "2020-01-01", "id": lot_id}
    )
    session.commit()


def _queued_sweeps(session: Session) -> list[dict[str, Any]]:
    statement = select(Job).where(Job.kind == JOB_SWEEP, Job.status == jobs.QUEUED).order_by(Job.id)
    return [job.payload for job in session.exec(statement)]


def test_a_sweeps_first_job_queues_one_job_per_slice(
    app: Flask, session: Session, lots: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 2)
    with app.app_context():
        run_sweep(session, {"after": 0})
    assert _queued_sweeps(session) == [
        {"after": 0, "until": lots[1]},
        {"after": lots[1], "until": lots[2]},
    ]


def test_a_slice_job_checks_its_range_alone(
    app: Flask, session: Session, lots: list[int], verified: list[int]
) -> None:
    with app.app_context():
        run_sweep(session, {"after": lots[0], "until": lots[1]})
    assert verified == [lots[1]]
    assert _queued_sweeps(session) == []


@pytest.mark.parametrize("tampered", [0, 2])
def test_a_sweep_in_slices_checks_every_lot_once_and_finds_tampering_in_any_slice(
    app: Flask,
    session: Session,
    lots: list[int],
    verified: list[int],
    monkeypatch: pytest.MonkeyPatch,
    tampered: int,
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 1)
    _tamper(session, lots[tampered])
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
    session.commit()
    engine = app.extensions["db_engine"]
    with app.app_context(), Session(engine) as second:
        assert jobs.run_one(app, session, "worker-1")
        assert len(_queued_sweeps(session)) == 3  # every slice waits for any worker at once
        while jobs.run_one(app, second, "worker-2") | jobs.run_one(app, session, "worker-1"):
            pass
    assert sorted(verified) == [lot for n, lot in enumerate(lots) if n != tampered]
    session.expire_all()
    marked = [lot for lot in lots if session.get(Lot, lot).tampered_at is not None]
    assert marked == [lots[tampered]]


def test_the_integrity_command_with_two_processes_says_what_one_process_says(
    app: Flask, session: Session, lots: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 1)  # three slices for two processes
    _tamper(session, lots[1])
    runner = app.test_cli_runner()
    two = runner.invoke(args=["integrity", "--processes", "2"])
    shared = session.exec(select(VerifiedStory.lot_id).order_by(VerifiedStory.lot_id)).all()
    session.execute(text("UPDATE lots SET tampered_at = NULL"))
    session.execute(text("DELETE FROM verified_lot_stories"))
    session.commit()
    one = runner.invoke(args=["integrity"])
    assert two.output == one.output == f"3 lots checked, 1 tampered.\nTAMPERED: lot {lots[1]}\n"
    assert two.exit_code == one.exit_code == 1
    assert shared == [lots[0], lots[2]]  # the checkers shared the intact lots' stories

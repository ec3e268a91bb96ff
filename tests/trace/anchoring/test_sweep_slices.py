"""The integrity sweep in chains of slices that several workers take at once: the sweep's
first job queues one job per chain (``SWEEP_CHAINS`` ranges of the lots), each job checks
one slice of its range and queues the next behind the jobs queued meanwhile, and the whole
sweep checks every lot once and finds a tampered lot in whichever chain it lies. ``flask
integrity --processes N`` checks the sweep's slices in N processes and says what one
process says."""

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
from trace.services.changes import JOB_DOCUMENT, mark_lot_changed


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


def _run_until_empty(app: Flask, session: Session) -> None:
    with app.app_context():
        while jobs.run_one(app, session, "worker-1"):
            pass


def test_a_sweeps_first_job_queues_one_job_per_chain(
    app: Flask, session: Session, lots: list[int]
) -> None:
    with app.app_context():
        run_sweep(session, {"after": 0})
    assert _queued_sweeps(session) == [  # SWEEP_CHAINS is 2 by default
        {"after": 0, "until": lots[0]},
        {"after": lots[0], "until": lots[2]},
    ]


def test_with_more_chains_than_lots_each_lot_is_a_chain_of_its_own(
    app: Flask, session: Session, lots: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SWEEP_CHAINS", 5)
    with app.app_context():
        run_sweep(session, {"after": 0})
    assert _queued_sweeps(session) == [
        {"after": 0, "until": lots[0]},
        {"after": lots[0], "until": lots[1]},
        {"after": lots[1], "until": lots[2]},
    ]


def test_a_chain_job_checks_one_slice_and_queues_the_next_slice_of_its_range(
    app: Flask,
    session: Session,
    lots: list[int],
    verified: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 1)
    with app.app_context():
        run_sweep(session, {"after": 0, "until": lots[2]})
    assert verified == [lots[0]]
    assert _queued_sweeps(session) == [{"after": lots[0], "until": lots[2]}]


def test_a_chains_last_slice_checks_its_range_alone_and_queues_nothing(
    app: Flask, session: Session, lots: list[int], verified: list[int]
) -> None:
    with app.app_context():
        run_sweep(session, {"after": lots[0], "until": lots[1]})
    assert verified == [lots[1]]
    assert _queued_sweeps(session) == []


@pytest.mark.parametrize("tampered", [0, 2])
def test_a_sweep_in_chains_checks_every_lot_once_and_finds_tampering_in_any_chain(
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
        assert len(_queued_sweeps(session)) == 2  # one job per chain, for two workers
        while jobs.run_one(app, second, "worker-2") | jobs.run_one(app, session, "worker-1"):
            pass
    assert sorted(verified) == [lot for n, lot in enumerate(lots) if n != tampered]
    session.expire_all()
    marked = [lot for lot in lots if session.get(Lot, lot).tampered_at is not None]
    assert marked == [lots[tampered]]


def _recording(
    kind: str, handler: jobs.Handler, claimed: list[tuple[str, dict[str, Any]]]
) -> jobs.Handler:
    """``handler``, noting each job it runs in ``claimed`` (in the order claimed)."""

    def record(session: Session, payload: dict[str, Any]) -> None:
        claimed.append((kind, payload))
        handler(session, payload)

    return record


def test_a_job_queued_while_the_sweep_is_under_way_goes_before_its_later_slices(
    app: Flask, session: Session, lots: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 1)
    claimed: list[tuple[str, dict[str, Any]]] = []
    registry = jobs.handlers(app)
    for kind in (JOB_SWEEP, JOB_DOCUMENT):
        monkeypatch.setitem(registry, kind, _recording(kind, registry[kind], claimed))
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
    session.commit()
    with app.app_context():
        assert jobs.run_one(app, session, "worker-1")  # the sweep is under way
    mark_lot_changed(session, lots[0])  # a farmer's change: its document is refreshed
    session.commit()
    _run_until_empty(app, session)
    refresh = (JOB_DOCUMENT, {"lot_id": lots[0]})
    last_slice = (JOB_SWEEP, {"after": lots[1], "until": lots[2]})
    assert claimed.index(refresh) < claimed.index(last_slice)


def test_a_sweep_queued_while_one_is_under_way_adds_nothing(
    app: Flask,
    session: Session,
    lots: list[int],
    verified: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(anchoring_jobs, "SWEEP_SLICE", 1)
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
    session.commit()
    with app.app_context():
        assert jobs.run_one(app, session, "worker-1")  # the ranges are queued
        assert jobs.run_one(app, session, "worker-1")  # the first range is done
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)  # as the scheduler
    session.commit()
    _run_until_empty(app, session)
    assert sorted(verified) == lots
    jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)  # after it ended
    session.commit()
    _run_until_empty(app, session)
    assert sorted(verified) == sorted(lots * 2)


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

"""The outbox: jobs enqueued with their change, claimed once, retried, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, select

from trace import jobs
from trace.models import Job
from trace.models.base import utcnow


@pytest.fixture
def calls(app: Flask) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    jobs.handlers(app)["test.record"] = lambda _session, payload: seen.append(payload)
    return seen


def test_a_job_exists_only_if_its_transaction_commits(session: Session) -> None:
    jobs.enqueue(session, "test.record", {"n": 1})
    session.rollback()
    assert session.exec(select(Job)).all() == []
    jobs.enqueue(session, "test.record", {"n": 2})
    session.commit()
    assert [j.payload for j in session.exec(select(Job))] == [{"n": 2}]


def test_dedupe_key_keeps_one_waiting_job(session: Session) -> None:
    assert jobs.enqueue(session, "test.record", {}, dedupe_key="lot:1") is not None
    session.commit()
    assert jobs.enqueue(session, "test.record", {}, dedupe_key="lot:1") is None
    session.commit()
    assert len(session.exec(select(Job)).all()) == 1


def test_two_writers_queueing_the_same_work_at_once_both_commit(session: Session) -> None:
    """Neither sees the other's job before it commits; the second must not fail its change.

    On PostgreSQL the second insert waits for the first transaction, then adds nothing; on
    SQLite the second writer waits for the first's write lock.
    """
    assert jobs.enqueue(session, "test.record", {"who": "a"}, dedupe_key="lot:7") is not None
    outcome: dict[str, Any] = {}

    def second_writer() -> None:
        with Session(session.get_bind()) as other:
            try:
                outcome["job"] = jobs.enqueue(
                    other, "test.record", {"who": "b"}, dedupe_key="lot:7"
                )
                other.commit()
            except Exception as error:  # the assertion below names it
                outcome["error"] = error

    writer = threading.Thread(target=second_writer)
    writer.start()
    writer.join(0.5)  # it is waiting for the first transaction (or already looked)
    session.commit()
    writer.join(30)
    assert not writer.is_alive()
    assert "error" not in outcome, outcome
    keys = [(job.payload, job.dedupe_key) for job in session.exec(select(Job))]
    assert keys == [({"who": "a"}, "lot:7")]


def test_worker_runs_each_job_once(app: Flask, session: Session, calls: list) -> None:  # type: ignore[type-arg]
    for n in range(3):
        jobs.enqueue(session, "test.record", {"n": n})
    session.commit()
    while jobs.run_one(app, session, "w1"):
        pass
    assert sorted(c["n"] for c in calls) == [0, 1, 2]
    assert {j.status for j in session.exec(select(Job))} == {"done"}


def test_a_claimed_job_is_not_claimed_again_until_its_lease_expires(
    app: Flask, session: Session, calls: list
) -> None:  # type: ignore[type-arg]
    jobs.enqueue(session, "test.record", {})
    session.commit()
    first = jobs.claim(session, "w1", ["test.record"])
    assert first is not None
    assert jobs.claim(session, "w2", ["test.record"]) is None
    later = utcnow() + jobs.LEASE + timedelta(seconds=1)
    again = jobs.claim(session, "w2", ["test.record"], now=later)  # w1 died
    assert again is not None and again.id == first.id and again.attempts == 2


def test_claims_take_the_oldest_runnable_job_queued_or_orphaned(
    app: Flask, session: Session
) -> None:
    """Jobs of a dead worker and queued jobs form one line, oldest run_after first."""
    start = utcnow() - timedelta(minutes=10)
    for n in range(3):
        jobs.enqueue(session, "test.record", {"n": n})
        session.flush()
    for job, minutes in zip(session.exec(select(Job).order_by(Job.id)), (0, 2, 4), strict=True):
        job.run_after = start + timedelta(minutes=minutes)
        session.add(job)
    session.commit()
    orphan = jobs.claim(session, "w1", ["test.record"])
    assert orphan is not None and orphan.payload == {"n": 0}
    later = utcnow() + jobs.LEASE + timedelta(seconds=1)  # w1 died holding job 0
    order = [jobs.claim(session, "w2", ["test.record"], now=later) for _ in range(4)]
    assert [job.payload["n"] if job else None for job in order] == [0, 1, 2, None]


def test_the_claim_reads_queued_jobs_through_the_status_index(session: Session) -> None:
    """Finished jobs pile up by the million; the claim must not walk them."""
    queued = jobs.col(Job.status) == jobs.QUEUED
    statement = jobs._runnable(session, queued, utcnow(), ["test.record"])
    bind = session.get_bind()
    sql = str(statement.compile(bind, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if bind.dialect.name == "sqlite" else "EXPLAIN "
    plan = " ".join(str(row) for row in session.execute(text(explain + sql)).all())
    assert "ix_jobs_status_run_after_id" in plan


def test_a_worker_told_which_kinds_runs_those_alone(
    app: Flask,
    session: Session,
    calls: list,  # type: ignore[type-arg]
) -> None:
    jobs.handlers(app)["other.kind"] = lambda _session, _payload: None
    jobs.enqueue(session, "other.kind", {"n": 0})
    jobs.enqueue(session, "test.record", {"n": 1})
    session.commit()
    while jobs.run_one(app, session, "w1", only=["test."]):
        pass
    assert calls == [{"n": 1}]
    status = {job.kind: job.status for job in session.exec(select(Job))}
    assert status == {"other.kind": jobs.QUEUED, "test.record": "done"}
    assert jobs.run_one(app, session, "w2")  # a worker for every kind takes the rest
    assert {job.status for job in session.exec(select(Job))} == {"done"}


def test_failing_job_is_retried_with_backoff_then_succeeds(app: Flask, session: Session) -> None:
    attempts: list[int] = []

    def flaky(_session: Session, _payload: dict[str, Any]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("marketplace down")

    jobs.handlers(app)["test.flaky"] = flaky
    jobs.enqueue(session, "test.flaky", {})
    session.commit()
    assert jobs.run_one(app, session, "w1")
    job = session.exec(select(Job)).one()
    session.refresh(job)
    assert job.status == "queued" and "marketplace down" in job.last_error
    assert job.run_after > utcnow()
    assert not jobs.run_one(app, session, "w1")  # not due yet
    job.run_after = utcnow()
    session.add(job)
    session.commit()
    assert jobs.run_one(app, session, "w1")
    session.refresh(job)
    assert job.status == "done" and len(attempts) == 2


def test_worker_thread_runs_jobs_and_stops(app: Flask, session: Session, calls: list) -> None:  # type: ignore[type-arg]
    jobs.enqueue(session, "test.record", {"n": 7})
    session.commit()
    thread, stop = jobs.start_worker_thread(app, idle_seconds=0.05)
    for _ in range(100):
        if calls:
            break
        threading.Event().wait(0.05)
    stop.set()
    thread.join(5)
    assert calls == [{"n": 7}] and not thread.is_alive()
    assert jobs.live_workers(session) == 1


def test_flask_worker_only_runs_the_kinds_named(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[dict[str, Any]] = []
    monkeypatch.setattr("trace.jobs.run_worker", lambda *a, **k: ran.append(k))
    result = app.test_cli_runner().invoke(args=["worker", "--only", "marketplace."])
    assert result.exit_code == 0, result.output
    assert "Worker started for marketplace." in result.output
    assert ran[0]["only"] == ("marketplace.",) and ran[0]["on_idle"] is None  # no scheduling
    typo = app.test_cli_runner().invoke(args=["worker", "--only", "marketplce."])
    assert typo.exit_code == 2 and "no job kind starts with marketplce." in typo.output
    assert len(ran) == 1  # the mistyped worker never started


def test_backoff_doubles_from_the_first_delay_up_to_the_cap() -> None:
    assert [jobs.backoff_delay(n) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert [jobs.backoff_delay(n, first=5, cap=30) for n in (1, 2, 3, 4)] == [5, 10, 20, 30]


def test_backoff_jitter_stays_within_half_to_one_and_a_half_times() -> None:
    delays = {jobs.backoff_delay(3, jitter=True) for _ in range(200)}
    assert all(4 <= delay <= 12 for delay in delays) and len(delays) > 1

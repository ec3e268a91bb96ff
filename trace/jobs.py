"""The transactional outbox: jobs written with the change behind them, run by workers.

A job is enqueued in the caller's transaction (so it exists exactly when the change
does), claimed by one worker under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
conditional update on SQLite), and retried with backoff until it succeeds or runs out of
attempts. A worker that dies leaves its lease to expire; another worker takes the job.
Handlers must therefore be idempotent: a job can run again after a crash.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from trace.models import Job, WorkerHeartbeat
from trace.models.base import utcnow

log = logging.getLogger(__name__)
Handler = Callable[[Session, dict[str, Any]], None]
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
#: A busy worker records its heartbeat this often, not once per job: a write per job
#: serializes SQLite writers for nothing (``live_workers`` looks back 30 s).
BEAT_EVERY = 5.0
#: Tries at a claim that other workers keep winning before reporting an empty queue.
CLAIM_TRIES = 5
#: Fault drills only (tests/drills): a crash point's name; the process that reaches that
#: point kills itself with SIGKILL, as a power cut would. Never set in a deployment.
CRASH_AT = "AGRITRACE_CRASH_AT"


class RetryLater(Exception):
    """A handler's way to say "not now": the job is retried after ``delay`` seconds."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def crash_point(name: str) -> None:
    """Die here with SIGKILL when ``AGRITRACE_CRASH_AT`` is ``name``; otherwise do nothing."""
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
) -> Job | None:
    """Add a job to the caller's transaction (the caller commits).

    :param dedupe_key: when a queued or running job has this key, nothing is added.
    :returns: the new job, or None when an equivalent job is already waiting.
    """
    if dedupe_key is not None:
        waiting = session.exec(
            select(Job).where(Job.dedupe_key == dedupe_key, col(Job.status).in_([QUEUED, RUNNING]))
        ).first()
        if waiting is not None:
            return None
        _release_finished_key(session, dedupe_key)
    job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, run_after=run_after or utcnow())
    session.add(job)
    return job


def _release_finished_key(session: Session, dedupe_key: str) -> None:
    """A finished job gives its key up so the same work can be queued again."""
    session.execute(
        update(Job)
        .where(col(Job.dedupe_key) == dedupe_key, col(Job.status).in_([DONE, FAILED]))
        .values(dedupe_key=None)
    )


def handlers(app: Flask) -> dict[str, Handler]:
    """The app's job handlers by kind (packages add theirs in ``init_app``)."""
    registry: dict[str, Handler] = app.extensions.setdefault("job_handlers", {})
    return registry


def add_idle_hook(app: Flask, hook: Callable[[], None]) -> None:
    """Add periodic work a worker does whenever its queue is empty (packages add theirs in
    ``init_app``, in any order); ``app.extensions["worker_on_idle"]`` runs them all."""
    hooks: list[Callable[[], None]] = app.extensions.setdefault("worker_idle_hooks", [])
    hooks.append(hook)

    def run_all() -> None:
        for run in hooks:
            run()

    app.extensions["worker_on_idle"] = run_all


def claim(
    session: Session, worker_id: str, kinds: list[str], now: datetime | None = None
) -> Job | None:
    """Take the oldest runnable job of ``kinds`` under a lease, or None when there is none.

    Workers that look at once see the same oldest job and only one wins it; the others
    try the next one straight away (an empty answer makes a worker sleep).
    """
    for _ in range(CLAIM_TRIES):
        job, raced = _claim_once(session, worker_id, kinds, now or utcnow())
        if not raced:
            return job
    return None


def _claim_once(
    session: Session, worker_id: str, kinds: list[str], now: datetime
) -> tuple[Job | None, bool]:
    """One attempt at a claim. :returns: the job, and whether another worker took it first.

    Two index range reads, each already in (run_after, id) order: the oldest queued job,
    and the oldest job whose worker died (its lease ran out); the older of the two wins.
    One query with ``OR`` over both made the databases walk every finished job.
    """
    queued = col(Job.status) == QUEUED
    orphaned = (col(Job.status) == RUNNING) & (col(Job.lease_until) < now)
    candidates = [
        job
        for runnable in (queued, orphaned)
        if (job := session.exec(_runnable(session, runnable, now, kinds)).first()) is not None
    ]
    if not candidates:
        session.rollback()
        return None, False
    job = min(candidates, key=lambda j: (j.run_after, j.id))
    # The conditional update is what makes the claim exclusive on SQLite; it returns the
    # job as claimed.
    taken = session.scalars(
        update(Job)
        .where(
            col(Job.id) == job.id, col(Job.status) == job.status, col(Job.attempts) == job.attempts
        )
        .values(
            status=RUNNING, locked_by=worker_id, lease_until=now + LEASE, attempts=Job.attempts + 1
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    ).one_or_none()
    session.commit()
    if taken is None:
        session.expunge(job)  # its loaded state is stale; the next look must not reuse it
        return None, True
    return taken, False


def _runnable(
    session: Session, runnable: ColumnElement[bool], now: datetime, kinds: list[str]
) -> SelectOfScalar[Job]:
    statement = (
        select(Job)
        .where(runnable, col(Job.run_after) <= now, col(Job.kind).in_(kinds))
        .order_by(col(Job.run_after), col(Job.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return statement


def run_one(
    app: Flask, session: Session, worker_id: str, only: Sequence[str] | None = None
) -> bool:
    """Claim and run one job. :returns: whether there was a job.

    :param only: run only jobs whose kind starts with one of these (e.g. ``marketplace.``).
    """
    registry = handlers(app)
    kinds = [kind for kind in registry if not only or kind.startswith(tuple(only))]
    job = claim(session, worker_id, kinds)
    if job is None:
        return False
    try:
        registry[job.kind](session, dict(job.payload))
    except Exception as error:  # every failure is recorded on the job and retried
        session.rollback()
        _failed(session, job, error)
    else:
        _finish(session, job, DONE, None)
    return True


def _failed(session: Session, job: Job, error: Exception) -> None:
    if isinstance(error, RetryLater):
        log.info("job %s (%s) will retry: %s", job.id, job.kind, error)
    else:
        log.warning("job %s (%s) failed: %r", job.id, job.kind, error, exc_info=error)
    if job.attempts >= MAX_ATTEMPTS and not isinstance(error, RetryLater):
        _finish(session, job, FAILED, repr(error))
        return
    delay = getattr(error, "delay", None) or min(2**job.attempts, 300)
    session.execute(
        update(Job)
        .where(col(Job.id) == job.id)
        .values(
            status=QUEUED,
            locked_by=None,
            lease_until=None,
            last_error=repr(error)[:500],
            run_after=utcnow() + timedelta(seconds=delay),
        )
    )
    session.commit()


def _finish(session: Session, job: Job, status: str, error: str | None) -> None:
    session.execute(
        update(Job)
        .where(col(Job.id) == job.id)
        .values(
            status=status, locked_by=None, lease_until=None, finished_at=utcnow(), last_error=error
        )
    )
    session.commit()


def beat(session: Session, worker_id: str) -> None:
    """Record that this worker is alive."""
    heartbeat = session.get(WorkerHeartbeat, worker_id) or WorkerHeartbeat(name=worker_id)
    heartbeat.last_seen = utcnow()
    session.add(heartbeat)
    session.commit()


def live_workers(session: Session, within: timedelta = timedelta(seconds=30)) -> int:
    """How many workers looked for work recently."""
    statement = select(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen) >= utcnow() - within)
    return len(session.exec(statement).all())


def worker_name() -> str:
    """A worker id unique on this machine: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_worker(
    app: Flask,
    stop: threading.Event,
    idle_seconds: float = 1.0,
    on_idle: Callable[[], None] | None = None,
    only: Sequence[str] | None = None,
) -> None:
    """Run jobs until ``stop`` is set; sleep ``idle_seconds`` when there are none.

    :param on_idle: called when the queue is empty (e.g. to schedule periodic jobs).
    :param only: kind prefixes this worker runs (default: every kind).
    """
    worker_id = worker_name()
    engine = app.extensions["db_engine"]
    last_beat = -BEAT_EVERY
    with app.app_context():
        while not stop.is_set():
            try:
                with Session(engine, expire_on_commit=False) as session:
                    if time.monotonic() - last_beat >= BEAT_EVERY:
                        beat(session, worker_id)
                        last_beat = time.monotonic()
                    busy = run_one(app, session, worker_id, only)
                if not busy and on_idle is not None:
                    on_idle()
            except Exception:  # the database may be restarting: keep the worker alive
                log.exception("worker loop error; retrying")
                busy = False
            if not busy:
                stop.wait(idle_seconds)


def start_worker_thread(app: Flask, **kwargs: Any) -> tuple[threading.Thread, threading.Event]:
    """Run a worker in a daemon thread (``make run``); set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(app, stop), kwargs=kwargs, name="agritrace-worker", daemon=True
    )
    thread.start()
    app.extensions["worker_heartbeat"] = thread
    return thread, stop

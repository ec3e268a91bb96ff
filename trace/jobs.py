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
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from trace.db import conflict_insert
from trace.extensions import db_engine
from trace.models import Job, WorkerHeartbeat
from trace.models.base import utcnow

log = logging.getLogger(__name__)
Handler = Callable[[Session, dict[str, Any]], None]
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: What a running job's dedupe key becomes when it gives the key up (``enqueue``).
RUNNING_KEY = "#running:"
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
#: A busy worker records its heartbeat this often, not once per job: a write per job
#: serializes SQLite writers for nothing (``live_workers`` looks back 30 s).
BEAT_EVERY = 5.0
#: How often a busy worker also looks for jobs whose worker died (their lease ran out);
#: an idle one looks every time. A dead worker is rare, and each look is a statement.
ORPHANS_EVERY = 5.0
#: Fault drills only (tests/drills): a crash point's name; the process that reaches that
#: point kills itself with SIGKILL, as a power cut would. Never set in a deployment.
CRASH_AT = "AGRITRACE_CRASH_AT"
#: Where the app keeps its registries (``app.extensions``): handlers by kind, idle hooks.
HANDLERS, IDLE_HOOKS = "job_handlers", "worker_idle_hooks"


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
    *,
    again_if_running: bool = False,
) -> Job | None:
    """Add a job to the caller's transaction (the caller commits).

    :param dedupe_key: when a queued job (or a running one, see ``again_if_running``) has
        this key, nothing is added.
    :param again_if_running: for jobs that bring something up to date with the data (a lot
        document): a running job with the key may have read the data before the caller's
        change, so it gives the key up (``<key>#running:<id>``) and a new job is queued
        behind it; otherwise a running job counts as waiting.
    :returns: the new job, or None when an equivalent job is already waiting.
    """
    if dedupe_key is not None:
        waiting = session.exec(
            select(Job).where(Job.dedupe_key == dedupe_key, col(Job.status).in_([QUEUED, RUNNING]))
        ).first()
        if waiting is not None and (waiting.status == QUEUED or not again_if_running):
            return None
        if waiting is not None:
            session.execute(
                update(Job)
                .where(col(Job.id) == waiting.id)
                .values(dedupe_key=f"{dedupe_key}{RUNNING_KEY}{waiting.id}")
            )
        _release_finished_key(session, dedupe_key)
    job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, run_after=run_after or utcnow())
    if dedupe_key is None:
        session.add(job)
        return job
    return _insert_unless_waiting(session, job)


def _insert_unless_waiting(session: Session, job: Job) -> Job | None:
    """Insert a job with a dedupe key, or nothing when another transaction just did.

    Two writers that change the same thing at once both find no waiting job; the second
    insert would break the key's unique index and fail the writer's whole change (a
    farmer's event, an inspector's recall). ``ON CONFLICT DO NOTHING`` waits for the other
    transaction on PostgreSQL and inserts only if it rolled back.
    """
    values = job.model_dump(exclude={"id"})
    statement = (
        conflict_insert(session, Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    job_id = session.execute(statement.returning(col(Job.id))).scalar_one_or_none()
    return session.get(Job, job_id) if job_id is not None else None


def _release_finished_key(session: Session, dedupe_key: str) -> None:
    """A finished job gives its key up so the same work can be queued again."""
    session.execute(
        update(Job)
        .where(col(Job.dedupe_key) == dedupe_key, col(Job.status).in_([DONE, FAILED]))
        .values(dedupe_key=None)
    )


def handlers(app: Flask) -> dict[str, Handler]:
    """The app's job handlers by kind (packages add theirs in ``init_app``)."""
    return cast("dict[str, Handler]", app.extensions.setdefault(HANDLERS, {}))


def _idle_hooks(app: Flask) -> list[Callable[[], None]]:
    return cast("list[Callable[[], None]]", app.extensions.setdefault(IDLE_HOOKS, []))


def add_idle_hook(app: Flask, hook: Callable[[], None]) -> None:
    """Add periodic work a worker does whenever its queue is empty (packages add theirs in
    ``init_app``, in any order); :func:`worker_on_idle` runs them all."""
    _idle_hooks(app).append(hook)


def worker_on_idle(app: Flask) -> Callable[[], None] | None:
    """What a worker runs when its queue is empty: every idle hook in the order added, or
    None when no package added one."""
    hooks = _idle_hooks(app)
    if not hooks:
        return None

    def run_all() -> None:
        for run in hooks:
            run()

    return run_all


def claim(
    session: Session,
    worker_id: str,
    kinds: list[str],
    now: datetime | None = None,
    orphans: bool = True,
) -> Job | None:
    """Take a runnable job of ``kinds`` under a lease, or None when there is none.

    With ``orphans``, a job whose worker died (its lease ran out) is taken back first; then
    the oldest queued job. Each look is one statement: an ``UPDATE … RETURNING`` of the row
    a subquery picks from the index ``(status, run_after, id)`` — ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL, and SQLite runs one writer at a time — so workers that look at
    once never take the same job, and none waits for another's.
    """
    now = now or utcnow()
    orphaned = (col(Job.status) == RUNNING) & (col(Job.lease_until) < now)
    looks = (orphaned, col(Job.status) == QUEUED) if orphans else (col(Job.status) == QUEUED,)
    for runnable in looks:
        picked = _runnable(session, runnable, now, kinds).scalar_subquery()
        job = session.scalars(
            update(Job)
            .where(col(Job.id) == picked)
            .values(
                status=RUNNING,
                locked_by=worker_id,
                lease_until=now + LEASE,
                attempts=Job.attempts + 1,
            )
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).one_or_none()
        if job is not None:
            session.commit()
            return job
    session.rollback()
    return None


def _runnable(
    session: Session, runnable: ColumnElement[bool], now: datetime, kinds: list[str]
) -> SelectOfScalar[int | None]:
    """The id of the oldest job of ``kinds`` that is ``runnable`` and due."""
    statement = (
        select(col(Job.id))
        .where(runnable, col(Job.run_after) <= now, col(Job.kind).in_(kinds))
        .order_by(col(Job.run_after), col(Job.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return statement


def run_one(
    app: Flask,
    session: Session,
    worker_id: str,
    only: Sequence[str] | None = None,
    orphans: bool = True,
) -> bool:
    """Claim and run one job. :returns: whether there was a job.

    :param only: run only jobs whose kind starts with one of these (e.g. ``marketplace.``).
    :param orphans: look for jobs whose worker died too (see ``claim``).
    """
    registry = handlers(app)
    kinds = [kind for kind in registry if not only or kind.startswith(tuple(only))]
    job = claim(session, worker_id, kinds, orphans=orphans)
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


def backoff_delay(
    failures: int, first: float = 2.0, cap: float = 300.0, *, jitter: bool = False
) -> float:
    """Seconds to wait before the next try: ``first``, then doubling per failure, up to ``cap``.

    The one retry formula of the outbox and of everything it runs (marketplace and portal
    syncs use it with their configured ``first`` and ``cap``).

    :param failures: how many tries have failed so far (the first failure waits ``first``).
    :param jitter: spread the delay over 0.5x to 1.5x (at least 10 ms), so that clients
        that failed together do not all retry together.
    """
    delay = min(cap, first * 2 ** max(failures - 1, 0))
    return max(delay * random.uniform(0.5, 1.5), 0.01) if jitter else delay


def _failed(session: Session, job: Job, error: Exception) -> None:
    if isinstance(error, RetryLater):
        log.info("job %s (%s) will retry: %s", job.id, job.kind, error)
    else:
        log.warning("job %s (%s) failed: %r", job.id, job.kind, error, exc_info=error)
    if job.attempts >= MAX_ATTEMPTS and not isinstance(error, RetryLater):
        _finish(session, job, FAILED, repr(error))
        return
    delay = getattr(error, "delay", None) or backoff_delay(job.attempts)
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


#: A heartbeat older than this is expired. Generous (six beats): a worker beats between
#: jobs, so one long job must not make a live worker look dead.
HEARTBEAT_EXPIRES = timedelta(seconds=30)


def live_workers(session: Session, within: timedelta = HEARTBEAT_EXPIRES) -> int:
    """How many workers looked for work recently and, on this host, still run.

    A worker killed with SIGKILL leaves a fresh heartbeat behind; one whose name is
    this host's and whose process is gone counts as dead at once, not when it expires.
    """
    statement = select(WorkerHeartbeat.name).where(
        col(WorkerHeartbeat.last_seen) >= utcnow() - within
    )
    return sum(1 for name in session.exec(statement) if not _known_dead(name))


def _known_dead(name: str) -> bool:
    """Whether ``name`` (see :func:`worker_name`) is a process of this host that is gone."""
    host, _, rest = name.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, another user's
    return False


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
    engine = db_engine(app)
    last_beat = last_orphans = -BEAT_EVERY
    busy = False
    with app.app_context():
        while not stop.is_set():
            try:
                # One connection for the whole job: a session checks a pooled connection
                # out (and pings it) at every transaction otherwise.
                with (
                    engine.connect() as connection,
                    Session(connection, expire_on_commit=False) as session,
                ):
                    if time.monotonic() - last_beat >= BEAT_EVERY:
                        beat(session, worker_id)
                        last_beat = time.monotonic()
                    orphans = not busy or time.monotonic() - last_orphans >= ORPHANS_EVERY
                    if orphans:
                        last_orphans = time.monotonic()
                    busy = run_one(app, session, worker_id, only, orphans)
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
    return thread, stop

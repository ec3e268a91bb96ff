"""A worker counts as live only while its heartbeat is fresh and, on this host, it still runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlmodel import Session

from trace import jobs
from trace.models import WorkerHeartbeat
from trace.models.base import utcnow


def beat_as(session: Session, name: str, age: timedelta = timedelta(0)) -> None:
    session.add(WorkerHeartbeat(name=name, last_seen=utcnow() - age))
    session.commit()


def test_a_killed_workers_fresh_heartbeat_does_not_count(session: Session) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a worker process that has ended (kill -9 leaves the same trace)
    beat_as(session, f"{socket.gethostname()}:{gone.pid}:1")
    assert jobs.live_workers(session) == 0
    beat_as(session, jobs.worker_name())  # this process: alive
    assert jobs.live_workers(session) == 1


def test_another_hosts_worker_counts_until_its_heartbeat_expires(session: Session) -> None:
    beat_as(session, "other-host:1234:1")
    assert jobs.live_workers(session) == 1
    session.get(WorkerHeartbeat, "other-host:1234:1").last_seen = (  # type: ignore[union-attr]
        utcnow() - jobs.HEARTBEAT_EXPIRES - timedelta(seconds=1)
    )
    session.commit()
    assert jobs.live_workers(session) == 0


def test_this_process_is_never_judged_dead(session: Session) -> None:
    beat_as(session, f"{socket.gethostname()}:{os.getpid()}:99")
    assert jobs.live_workers(session) == 1

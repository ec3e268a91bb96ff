"""Anchoring in the background: document versions, rounds on a schedule, retries."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlmodel import Session, col, func, select

from chain.errors import ChainError
from trace import jobs
from trace.alerts.sources import alert_round_failing
from trace.anchoring.documents import refresh_document
from trace.anchoring.integrity import sweep_chains, sweep_integrity
from trace.anchoring.rounds import prepare_round, send_round
from trace.extensions import chain_client, db_engine
from trace.models import AnchorRound, Job, LotDocument, RoundStatus
from trace.services.changes import JOB_DOCUMENT
from trace.services.exports import count_pending_manifests

log = logging.getLogger(__name__)
JOB_ROUND = "anchoring.round"
JOB_SWEEP = "anchoring.integrity_sweep"
#: The jobs that talk to the chain: a worker that runs none of them never opens it.
CHAIN_JOBS = frozenset({JOB_ROUND, JOB_SWEEP})
SWEEP_SLICE = 500
#: The dedupe keys of a sweep's slice jobs start with this (the first job's key is JOB_SWEEP).
SWEEP_SLICE_KEY = f"{JOB_SWEEP}:"


def init_app(app: Flask) -> None:
    """Register the job handlers and the idle-time scheduler (settings: ``trace.config``)."""
    registry = jobs.handlers(app)
    registry[JOB_DOCUMENT] = _refresh_document
    registry[JOB_ROUND] = run_round
    registry[JOB_SWEEP] = run_sweep
    jobs.add_idle_hook(app, _Scheduler(app))


def _refresh_document(session: Session, payload: dict[str, Any]) -> None:
    refresh_document(session, int(payload["lot_id"]))


def run_round(session: Session, _payload: dict[str, Any]) -> None:
    """Send the next round; a chain failure leaves it prepared and retries later."""
    config = current_app.config
    anchor = prepare_round(session, int(config["ANCHOR_MAX_LEAVES"]))
    if anchor is None:
        return
    try:
        client = chain_client(current_app)
        send_round(session, client, anchor, int(config["ANCHOR_CONFIRMATIONS"]))
    except ChainError as error:
        alert_round_failing(session, anchor, error, int(config["ALERT_ROUND_FAILURES"]))
        raise jobs.RetryLater(f"round {anchor.id}: {error}") from error
    log.info(
        "anchored round %s: %s leaves in block %s",
        anchor.id,
        anchor.leaf_count,
        anchor.block_number,
    )


def run_sweep(session: Session, payload: dict[str, Any]) -> None:
    """Check lots against their anchors, one slice of ``SWEEP_SLICE`` lots per job.

    A sweep's first job (no ``until`` in its payload) cuts the lots into ``SWEEP_CHAINS``
    contiguous ranges and queues one job per range, so that many workers sweep at once; it
    queues nothing while an earlier sweep is still under way. A range's job checks one
    slice (``after < id <= until``) and queues the range's next slice as the newest job:
    the jobs queued meanwhile (document refreshes, rounds, marketplace syncs) go first.

    A slice's tampered lots are logged here (and marked and alerted by the check).
    """
    after = int(payload.get("after", 0))
    if "until" not in payload:
        _start_sweep(session, after)
        return
    until = int(payload["until"])
    report = sweep_integrity(session, after, SWEEP_SLICE, until)
    if report.tampered:
        log.warning("integrity sweep: lots %s no longer match their anchors", report.tampered)
    if report.next_after is not None:
        _queue_slice(session, report.next_after, until)
        session.commit()


def _start_sweep(session: Session, after: int) -> None:
    """Queue one job per range of the lots above ``after``, unless a sweep is under way."""
    under_way = session.exec(
        select(func.count()).where(
            col(Job.dedupe_key).startswith(SWEEP_SLICE_KEY, autoescape=True),
            col(Job.status).in_([jobs.QUEUED, jobs.RUNNING]),
        )
    ).one()
    if under_way:
        log.info("integrity sweep: one is under way, no second one queued")
        return
    chains = sweep_chains(session, max(1, int(current_app.config["SWEEP_CHAINS"])), after)
    for start, end in chains:
        _queue_slice(session, start, end)
    session.commit()
    log.info("integrity sweep: %s ranges queued, %s lots per job", len(chains), SWEEP_SLICE)


def _queue_slice(session: Session, after: int, until: int) -> None:
    # One job per slice: a job retried after it queued its successor adds nothing.
    key = f"{SWEEP_SLICE_KEY}{after}-{until}"
    jobs.enqueue(session, JOB_SWEEP, {"after": after, "until": until}, dedupe_key=key)


def pending_leaves(session: Session) -> int:
    """Document versions and export manifests waiting for a round, plus unconfirmed rounds."""
    waiting = session.exec(
        select(func.count()).select_from(LotDocument).where(col(LotDocument.round_id).is_(None))
    ).one()
    unfinished = session.exec(
        select(func.count())
        .select_from(AnchorRound)
        .where(AnchorRound.status == RoundStatus.PREPARED)
    ).one()
    return int(waiting) + int(unfinished) + count_pending_manifests(session)


class _Scheduler:
    """Queues a round every ``ANCHOR_INTERVAL_SECONDS``, or at once past ``ANCHOR_MAX_LEAVES``,
    and an integrity sweep every ``INTEGRITY_INTERVAL_SECONDS`` and on the worker's first
    idle moment of each new day.

    A new day is midnight in the app's time zone (``BABEL_DEFAULT_TIMEZONE``,
    Asia/Ho_Chi_Minh) or in the server's own (``date.today()``, the day the scans key their
    shared stories by: the two are one day where the server runs on the app's zone). The
    sweep shares the story of every lot it finds intact for that day
    (:func:`trace.anchoring.integrity.sweep_integrity`), so the day's scans find them
    checked already instead of each lot's first scan re-hashing its document.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.last = time.monotonic()
        self.last_sweep = time.monotonic()
        self.sweep_day = self._day()

    def __call__(self) -> None:
        config = self.app.config
        with Session(db_engine(self.app)) as session:
            pending = pending_leaves(session)
            due = time.monotonic() - self.last >= float(config["ANCHOR_INTERVAL_SECONDS"])
            if pending and (due or pending >= int(config["ANCHOR_MAX_LEAVES"])):
                jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
                session.commit()
                self.last = time.monotonic()
            day = self._day()
            interval = float(config["INTEGRITY_INTERVAL_SECONDS"])
            if day != self.sweep_day or time.monotonic() - self.last_sweep >= interval:
                jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
                session.commit()
                self.last_sweep, self.sweep_day = time.monotonic(), day

    def _day(self) -> tuple[date, date]:
        """Today in the app's time zone and in the server's."""
        zone = ZoneInfo(self.app.config["BABEL_DEFAULT_TIMEZONE"])
        return datetime.now(zone).date(), date.today()

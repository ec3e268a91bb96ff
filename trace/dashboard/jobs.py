"""Keeping the rollups current: a job the worker queues every minute, and a command.

Charts stay exact without either (they count the tail past the watermark); folding
keeps that tail short, and with it the dashboard fast.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from trace import jobs
from trace.dashboard.rollup import RollupSource, fold_all
from trace.extensions import db_engine

log = logging.getLogger(__name__)
EXTENSION = "dashboard_rollups"
JOB_FOLD = "dashboard.fold_rollups"


def init_app(app: Flask) -> None:
    """Register the fold job, its schedule beside the worker's other idle work, the command."""
    jobs.handlers(app)[JOB_FOLD] = run_fold
    jobs.add_idle_hook(app, _Scheduler(app))
    app.cli.add_command(rollup_command)


def registered_sources(app: Flask) -> list[RollupSource]:
    """The logs the registered charts read through rollups."""
    sources: dict[str, RollupSource] = app.extensions.get(EXTENSION, {})
    return list(sources.values())


def fold_registered(session: Session, app: Flask | None = None) -> dict[str, int]:
    """Fold every registered log into its rollup until caught up (commits).

    :returns: how many ids each log's watermark moved.
    """
    return fold_all(session, registered_sources(app or current_app))


def run_fold(session: Session, _payload: dict[str, Any]) -> None:
    moved = fold_registered(session)
    if any(moved.values()):
        log.info("dashboard rollups folded: %s", moved)


class _Scheduler:
    """Queues a fold every ``ROLLUP_INTERVAL_SECONDS``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last >= float(self.app.config["ROLLUP_INTERVAL_SECONDS"]):
            with Session(db_engine(self.app)) as session:
                jobs.enqueue(session, JOB_FOLD, {}, dedupe_key=JOB_FOLD)
                session.commit()
            self.last = time.monotonic()


@click.command("dashboard-rollup")
@with_appcontext
def rollup_command() -> None:
    """Fold every new scan, flag and stamp run into the dashboard's rollups."""
    from trace.db import get_session

    started = time.perf_counter()
    moved = fold_registered(get_session())
    seconds = time.perf_counter() - started
    folded = ", ".join(f"{name} {ids:,}" for name, ids in moved.items()) or "nothing registered"
    click.echo(f"Dashboard rollups folded in {seconds:.1f} s (ids per log: {folded}).")

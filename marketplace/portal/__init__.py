"""The national traceability portal connector: opt-in, outbox pushes, recalls, history."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from sqlmodel import Session

from marketplace.config import http_timeout
from marketplace.extensions import portal_settings, set_portal_settings, sync_settings
from marketplace.http import HttpClient
from marketplace.portal.client import PortalClient
from marketplace.portal.services import (
    JOB_PUSH_LOT,
    JOB_SYNC_PRODUCER,
    queue_enrolled,
    recall_hook,
)
from marketplace.portal.sync import PortalSettings, sync_producer
from trace import jobs
from trace.extensions import db_engine
from trace.services.recall import register_recall_hook


def init_app(app: Flask, config: Mapping[str, Any]) -> None:
    """Build the portal client (when configured), register its jobs, recall hook and pages.

    :param config: the marketplace settings (``PORTAL_URL``, ``PORTAL_CLIENT_ID``,
        ``PORTAL_CLIENT_SECRET``, ``PORTAL_SWEEP_SECONDS`` and the shared timeouts); the
        retry policy is the listing sync's, so ``marketplace.init_app`` sets that up first.
    """
    from marketplace.portal import web

    web.init_app(app)
    if not (
        config.get("PORTAL_URL")
        and config.get("PORTAL_CLIENT_ID")
        and config.get("PORTAL_CLIENT_SECRET")
    ):
        return
    client = PortalClient(
        HttpClient(config["PORTAL_URL"], http_timeout(config)),
        config["PORTAL_CLIENT_ID"],
        config["PORTAL_CLIENT_SECRET"],
    )
    retry = sync_settings(app)  # the listing sync's retry policy (set by marketplace.init_app)
    set_portal_settings(app, PortalSettings(client, app.config["PUBLIC_BASE_URL"], retry))
    registry = jobs.handlers(app)
    registry[JOB_SYNC_PRODUCER] = handle_sync_producer
    registry[JOB_PUSH_LOT] = handle_push_lot
    register_recall_hook(app, recall_hook)
    jobs.add_idle_hook(app, _sweeper(app, float(config.get("PORTAL_SWEEP_SECONDS", 60))))


def settings() -> PortalSettings:
    """The current app's portal settings (built by ``init_app``)."""
    value = portal_settings(current_app)
    assert value is not None, "the portal's jobs are registered only with its settings"
    return value


def handle_sync_producer(session: Session, payload: dict[str, Any]) -> None:
    """``portal.sync_producer`` {"producer_id"}: push what the portal lacks or holds stale."""
    sync_producer(session, settings(), int(payload["producer_id"]), jobs.worker_name())


def handle_push_lot(session: Session, payload: dict[str, Any]) -> None:
    """``portal.push_lot`` {"producer_id", "lot_id"}: one lot's chain, its recall included."""
    producer_id, lot_id = int(payload["producer_id"]), int(payload["lot_id"])
    sync_producer(session, settings(), producer_id, jobs.worker_name(), lot_id=lot_id)


def _sweeper(app: Flask, every: float) -> Any:
    """An idle hook that queues a push of every opted-in producer at most every ``every`` s."""
    last = [float("-inf")]

    def sweep() -> None:
        if time.monotonic() - last[0] < every:
            return
        last[0] = time.monotonic()
        with app.app_context(), Session(db_engine(app)) as session:
            queue_enrolled(session)

    return sweep

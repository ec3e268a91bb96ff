"""Alerts for inspectors: recorded where things happen, read as a feed, pushed to webhooks.

``record_alert`` runs in its caller's transaction. ``init_app`` wires the sources that
need no edit of their package (the recall hook, the worker's certificate check) and the
webhook delivery job; tampering, clone flags and failing rounds call :mod:`sources`.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import Flask
from sqlmodel import Session

from trace import jobs
from trace.alerts.service import (
    AlertKind,
    alert_message,
    list_alerts,
    lot_alerted,
    record_alert,
)
from trace.extensions import db_engine
from trace.services.recall import register_recall_hook

__all__ = ["AlertKind", "alert_message", "init_app", "list_alerts", "lot_alerted", "record_alert"]
JOB_CERTIFICATIONS = "alerts.certifications_expired"


def init_app(app: Flask) -> None:
    """Register the recall hook, the jobs and their schedule (settings: ``trace.config``)."""
    from trace.alerts.delivery import run_delivery
    from trace.alerts.sources import alert_recalled
    from trace.alerts.webhooks import JOB_DELIVER

    register_recall_hook(app, alert_recalled)
    registry = jobs.handlers(app)
    registry[JOB_DELIVER] = run_delivery
    registry[JOB_CERTIFICATIONS] = run_certification_check
    jobs.add_idle_hook(app, _CertificationSchedule(app))


def run_certification_check(session: Session, _payload: dict[str, Any]) -> None:
    """Job: an alert for each certificate that expired lately and has none yet."""
    from trace.alerts.sources import alert_expired_certifications

    alert_expired_certifications(session, date.today())


class _CertificationSchedule:
    """Queues the certificate check when the worker starts, then every
    ``CERTIFICATION_CHECK_SECONDS``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.last: float | None = None

    def __call__(self) -> None:
        every = float(self.app.config["CERTIFICATION_CHECK_SECONDS"])
        if self.last is not None and time.monotonic() - self.last < every:
            return
        with Session(db_engine(self.app)) as session:
            jobs.enqueue(session, JOB_CERTIFICATIONS, {}, dedupe_key=JOB_CERTIFICATIONS)
            session.commit()
        self.last = time.monotonic()

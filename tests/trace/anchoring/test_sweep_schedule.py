"""The anchoring scheduler queues an integrity sweep shortly after midnight in the app's time
zone, whatever ``INTEGRITY_INTERVAL_SECONDS`` says, so the day's shared stories exist
before the day's scans (the sweep shares the story of every lot it finds intact)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlmodel import Session, func, select

from trace.anchoring import jobs as anchoring_jobs
from trace.anchoring.jobs import JOB_SWEEP, _Scheduler
from trace.models import Job

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


class _Clock(datetime):
    """``datetime.now`` at a moment the test chooses."""

    at = datetime(2026, 12, 5, 23, 59, 50, tzinfo=HANOI)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        return cls.at.astimezone(tz)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Sweeps by the interval only once a day: the test sees the midnight sweep alone."""
    return {**app_config, "INTEGRITY_INTERVAL_SECONDS": 86400.0}


def _sweeps(session: Session) -> int:
    return int(
        session.exec(select(func.count()).select_from(Job).where(Job.kind == JOB_SWEEP)).one()
    )


def test_a_sweep_is_queued_just_after_midnight_in_the_apps_time_zone(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh"
    monkeypatch.setattr(anchoring_jobs, "datetime", _Clock)
    scheduler = _Scheduler(app)
    scheduler()
    assert _sweeps(session) == 0  # 23:59:50 in Hanoi: the interval has not passed
    monkeypatch.setattr(_Clock, "at", datetime(2026, 12, 6, 0, 0, 5, tzinfo=HANOI))
    scheduler()
    assert _sweeps(session) == 1
    monkeypatch.setattr(_Clock, "at", datetime(2026, 12, 6, 0, 30, tzinfo=HANOI))
    scheduler()
    assert _sweeps(session) == 1  # once a day, not at every idle moment after midnight

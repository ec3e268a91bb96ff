"""Compute the dashboard: every registered chart's numbers for one set of filters."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session

from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.filters import Filters, resolve
from trace.errors import NotFound


@dataclass(frozen=True)
class Panel:
    """One chart with its numbers."""

    chart: Chart
    data: ChartData


def registered_charts() -> list[Chart]:
    """The app's charts in page order."""
    from trace.dashboard import charts_of

    return sorted(charts_of(current_app).values(), key=lambda chart: chart.position)


def chart_by_key(key: str) -> Chart:
    """One registered chart.

    :raises NotFound: no chart has that key.
    """
    for chart in registered_charts():
        if chart.key == key:
            return chart
    raise NotFound(key)


def build_panels(session: Session, filters: Filters) -> tuple[list[Panel], float]:
    """Every chart's numbers (aggregate queries only) and the seconds it took."""
    started = time.perf_counter()
    filters = resolve(session, filters)
    panels = [Panel(chart, chart.query(session, filters)) for chart in registered_charts()]
    return panels, time.perf_counter() - started


def chart_data(session: Session, key: str, filters: Filters) -> ChartData:
    """The numbers of one chart.

    :raises NotFound: no chart has that key.
    """
    chart = chart_by_key(key)
    return chart.query(session, resolve(session, filters))

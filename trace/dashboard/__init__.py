"""The province dashboard for admins and inspectors: aggregate charts with CSV behind each.

Charts come from a registry (:func:`charts_of`): ``trace`` registers
its own here; the composition root registers those of ``stamps`` and ``marketplace``,
which ``trace`` may not import. Charts over large logs read them through rollups
(``trace.dashboard.rollup``), which register with their charts.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from trace.dashboard import models as _models  # noqa: F401 - the rollup tables, for Alembic
from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.jobs import EXTENSION as ROLLUPS
from trace.dashboard.rollup import RollupSource

EXTENSION = "dashboard_charts"

__all__ = ["Chart", "ChartData", "RollupSource", "charts_of", "init_app", "register_charts"]


def init_app(app: Flask, charts: Iterable[Chart] = ()) -> None:
    """Register the dashboard pages, the registry's own charts and any ``charts`` given."""
    from trace.dashboard import jobs, queries, routes

    app.register_blueprint(routes.bp)
    jobs.init_app(app)
    register_charts(app, queries.CHARTS)
    register_charts(app, charts)


def charts_of(app: Flask) -> dict[str, Chart]:
    """The app's registered charts by key."""
    registry: dict[str, Chart] = app.extensions.setdefault(EXTENSION, {})
    return registry


def register_charts(app: Flask, charts: Iterable[Chart]) -> None:
    """Add charts to the dashboard, and the rollups they read; a key may be registered once.

    :raises ValueError: a chart key is already taken, or two rollups share a name.
    """
    registry = charts_of(app)
    sources: dict[str, RollupSource] = app.extensions.setdefault(ROLLUPS, {})
    for chart in charts:
        if chart.key in registry:
            raise ValueError(f"dashboard chart {chart.key!r} is registered twice")
        registry[chart.key] = chart
        for source in chart.rollups:
            if sources.setdefault(source.name, source) is not source:
                raise ValueError(f"two dashboard rollups are named {source.name!r}")

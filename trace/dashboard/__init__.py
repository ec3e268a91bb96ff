"""The province dashboard for admins and inspectors: aggregate charts with CSV behind each.

Charts come from a registry in ``app.extensions["dashboard_charts"]``: ``trace`` registers
its own here; the composition root registers those of ``stamps`` and ``marketplace``,
which ``trace`` may not import.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from trace.dashboard.charts import Chart, ChartData

EXTENSION = "dashboard_charts"

__all__ = ["Chart", "ChartData", "init_app", "register_charts"]


def init_app(app: Flask, charts: Iterable[Chart] = ()) -> None:
    """Register the dashboard pages, the registry's own charts and any ``charts`` given."""
    from trace.dashboard import queries, routes

    app.register_blueprint(routes.bp)
    register_charts(app, queries.CHARTS)
    register_charts(app, charts)


def register_charts(app: Flask, charts: Iterable[Chart]) -> None:
    """Add charts to the dashboard; a key may be registered once.

    :raises ValueError: a chart key is already taken.
    """
    registry: dict[str, Chart] = app.extensions.setdefault(EXTENSION, {})
    for chart in charts:
        if chart.key in registry:
            raise ValueError(f"dashboard chart {chart.key!r} is registered twice")
        registry[chart.key] = chart

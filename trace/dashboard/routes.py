"""Dashboard pages: the charts, and each chart's numbers as CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from trace.dashboard import svg
from trace.dashboard.districts import DISTRICTS
from trace.dashboard.filters import PERIODS, parse_filters
from trace.dashboard.service import build_panels, chart_data
from trace.db import get_session
from trace.downloads import download_headers
from trace.models import Role
from trace.web.forms import CATEGORY_LABELS
from trace.web.guards import roles

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    static_folder="static",
    static_url_path="/static",
)


@bp.get("/")
@roles(Role.ADMIN, Role.INSPECTOR)
def index() -> ResponseReturnValue:
    """Every chart for the chosen district, category and period."""
    filters = parse_filters(request.args)
    panels, seconds = build_panels(get_session(), filters)
    return render_template(
        "dashboard/index.html",
        panels=panels,
        filters=filters,
        seconds=seconds,
        draw=svg.render,
        colour=svg.colour,
        scale=svg.SCALE,
        districts=sorted(DISTRICTS, key=lambda d: d.name),
        categories=CATEGORY_LABELS,
        periods=PERIODS,
    )


@bp.get("/<key>.csv")
@roles(Role.ADMIN, Role.INSPECTOR)
def chart_csv(key: str) -> ResponseReturnValue:
    """The numbers behind one chart, for the same filters as the page."""
    filters = parse_filters(request.args)
    data = chart_data(get_session(), key, filters)
    name = f"{key}-{filters.months}m.csv"
    return Response(
        data.to_csv(),
        mimetype="text/csv",
        headers=download_headers(name),
    )

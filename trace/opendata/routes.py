"""Open-data pages and files: public, no login, readable from any origin."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from trace.db import get_session
from trace.downloads import download_headers
from trace.errors import NotFound
from trace.i18n import _l
from trace.opendata import datasets_of, schema
from trace.opendata.catalog import catalog as build_catalog
from trace.opendata.datasets import LICENCE, LICENCE_NAME, Dataset
from trace.reports.cells import SafeCsvWriter

bp = Blueprint("opendata", __name__, url_prefix="/open-data")
CATALOG_TITLE = _l("AgriTrace Long An open data")
PUBLISHER = "AgriTrace Long An"


@bp.after_request
def _any_origin(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def datasets() -> list[Dataset]:
    return list(datasets_of(current_app).values())


def dataset_named(name: str) -> Dataset:
    """:raises NotFound: no dataset has that name."""
    found: Dataset | None = datasets_of(current_app).get(name)
    if found is None:
        raise NotFound(name)
    return found


def absolute(endpoint: str, values: dict[str, Any]) -> str:
    """An absolute URL on the public host (``PUBLIC_BASE_URL``)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _modified(dataset: Dataset) -> datetime | None:
    return dataset.modified(get_session())


@bp.get("/")
def index() -> ResponseReturnValue:
    """Every dataset with its licence, update time, schema and files."""
    listed = [(dataset, _modified(dataset)) for dataset in datasets()]
    return render_template(
        "opendata/index.html", datasets=listed, licence=LICENCE, licence_name=LICENCE_NAME
    )


@bp.get("/catalog.json")
def catalog() -> ResponseReturnValue:
    """The DCAT-AP catalogue as JSON-LD."""
    listed = [(dataset, _modified(dataset)) for dataset in datasets()]
    document = build_catalog(listed, absolute, CATALOG_TITLE, PUBLISHER)
    return Response(json.dumps(document, ensure_ascii=False), mimetype="application/ld+json")


@bp.get("/schemas/<name>.schema.json")
def json_schema(name: str) -> ResponseReturnValue:
    """The JSON Schema of a dataset's JSON file."""
    dataset = dataset_named(name)
    url = absolute("opendata.json_schema", {"name": name})
    with_title = schema.json_schema(name, str(dataset.title), dataset.columns, url)
    return Response(json.dumps(with_title, ensure_ascii=False), mimetype="application/schema+json")


@bp.get("/schemas/<name>.table.json")
def table_schema(name: str) -> ResponseReturnValue:
    """The Frictionless Table Schema of a dataset's CSV file."""
    dataset = dataset_named(name)
    return jsonify(schema.table_schema(dataset.columns, dataset.primary_key))


@bp.get("/<name>.csv")
def csv_file(name: str) -> ResponseReturnValue:
    """A dataset as CSV (UTF-8, RFC 4180), streamed; text that looks like a formula is quoted."""
    dataset = dataset_named(name)
    return Response(
        stream_with_context(_csv_lines(dataset)),
        mimetype="text/csv",
        headers=download_headers(f"{name}.csv"),
    )


def _csv_lines(dataset: Dataset) -> Iterator[str]:
    names = [column.name for column in dataset.columns]
    yield _csv_line(names)
    for row in dataset.rows(get_session()):
        yield _csv_line([schema.csv_value(row[name]) for name in names])


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    SafeCsvWriter(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


@bp.get("/<name>.json")
def json_file(name: str) -> ResponseReturnValue:
    """A dataset as JSON: its metadata and ``items``, streamed."""
    dataset = dataset_named(name)
    modified = _modified(dataset)
    head = {
        "dataset": name,
        "licence": LICENCE,
        "modified": modified.isoformat(timespec="seconds") if modified else None,
    }
    return Response(stream_with_context(_json_chunks(dataset, head)), mimetype="application/json")


def _json_chunks(dataset: Dataset, head: dict[str, Any]) -> Iterator[str]:
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "items": ['
    for index, row in enumerate(dataset.rows(get_session())):
        yield ("," if index else "") + json.dumps(row, ensure_ascii=False)
    yield "]}"

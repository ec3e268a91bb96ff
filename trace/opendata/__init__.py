"""Open data: the public datasets as CSV and JSON, their schemas and a DCAT catalogue."""

from __future__ import annotations

from flask import Flask

from trace.opendata.datasets import Dataset, ScanStatistics, build_datasets

EXTENSION = "opendata_datasets"


def init_app(app: Flask, scan_statistics: ScanStatistics) -> None:
    """Register the open-data pages; ``scan_statistics`` comes from the stamps package."""
    from trace.opendata import routes

    app.extensions[EXTENSION] = {
        dataset.name: dataset for dataset in build_datasets(scan_statistics)
    }
    app.register_blueprint(routes.bp)


def datasets_of(app: Flask) -> dict[str, Dataset]:
    """The app's open datasets by name."""
    datasets: dict[str, Dataset] = app.extensions[EXTENSION]
    return datasets

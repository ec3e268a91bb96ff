"""The registry's side of anchoring: lot documents, rounds, integrity (chain/ does the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trace.anchoring.documents import (
    DOCUMENT_SCHEMA,
    build_document,
    latest_version,
    refresh_document,
)
from trace.anchoring.integrity import IntegrityReport, check_integrity
from trace.anchoring.rounds import anchored_version, prepare_round, receipt_of, send_round
from trace.services.changes import mark_lot_changed, mark_producer_changed

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "DOCUMENT_SCHEMA",
    "IntegrityReport",
    "anchored_version",
    "build_document",
    "check_integrity",
    "init_app",
    "latest_version",
    "mark_lot_changed",
    "mark_producer_changed",
    "prepare_round",
    "receipt_of",
    "refresh_document",
    "send_round",
]


def init_app(app: Flask) -> None:
    """Register the anchoring jobs and the scheduler that starts rounds."""
    from trace.anchoring.jobs import init_app as init_jobs

    init_jobs(app)

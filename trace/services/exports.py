"""Exports: build an FSMA 204 file and record its manifest (what, for whom, sha256)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from trace.models.exports import ExportManifest
from trace.reports import sheets
from trace.reports.fsma204 import ExportFilter, export_rows
from trace.services.access import Actor

WRITERS = {"csv": sheets.to_csv, "xlsx": sheets.to_xlsx}


@dataclass(frozen=True)
class ExportFile:
    """The exported bytes and the manifest recorded for them."""

    data: bytes
    manifest: ExportManifest


def fsma204_export(session: Session, actor: Actor, wanted: ExportFilter, fmt: str) -> ExportFile:
    """The FSMA 204 sortable spreadsheet of the selected lots, as ``csv`` or ``xlsx``.

    :raises ValidationError: no lot or date range named.
    """
    rows = export_rows(session, actor, wanted)
    data = WRITERS[fmt](rows)
    manifest = ExportManifest(
        kind=f"fsma204.{fmt}",
        parameters=_jsonable(asdict(wanted)),
        sha256=sheets.sha256_hex(data),
        rows=len(rows),
        created_by_id=actor.user_id,
    )
    session.add(manifest)
    session.commit()
    return ExportFile(data, manifest)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if hasattr(v, "isoformat") else v
        for k, v in values.items()
        if v is not None
    }

"""Exports: build a file, record its manifest (what, for whom, sha256) and anchor the manifest.

Each manifest is a small canonical JSON document naming the file's sha256; its keccak hash
is a leaf of the next anchoring round (see :mod:`trace.anchoring.rounds`), so an inspector
can later prove a file is exactly what the registry handed out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from chain.canonical import canonical_json, document_hash
from trace.errors import NotFound
from trace.models import AnchorRound, Role
from trace.models.base import utcnow
from trace.models.exports import ExportManifest
from trace.reports import sheets
from trace.reports.fsma204 import ExportFilter, export_rows
from trace.services.access import Actor

WRITERS = {"csv": sheets.to_csv, "xlsx": sheets.to_xlsx}
MANIFEST_SCHEMA = "agritrace/export-manifest/1"


@dataclass(frozen=True)
class ExportFile:
    """The exported bytes and the manifest recorded for them."""

    data: bytes
    manifest: ExportManifest


@dataclass(frozen=True)
class ManifestProof:
    """A manifest, its document, and where its round stands (path and anchor once sent)."""

    manifest: ExportManifest
    document: dict[str, Any]
    anchor: AnchorRound | None


def fsma204_export(session: Session, actor: Actor, wanted: ExportFilter, fmt: str) -> ExportFile:
    """The FSMA 204 sortable spreadsheet of the selected lots, as ``csv`` or ``xlsx``.

    :raises ValidationError: no lot or date range named.
    """
    rows = export_rows(session, actor, wanted)
    data = WRITERS[fmt](rows)
    manifest = record_manifest(
        session, actor, f"fsma204.{fmt}", _jsonable(asdict(wanted)), data, len(rows)
    )
    return ExportFile(data, manifest)


def record_manifest(
    session: Session,
    actor: Actor,
    kind: str,
    parameters: dict[str, Any],
    data: bytes,
    rows: int,
) -> ExportManifest:
    """Record (and commit) the manifest of exported bytes; its hash waits for the next round.

    :param kind: what was exported, e.g. ``fsma204.csv`` or ``epcis.query``.
    :param parameters: the request that selected the content (JSON-ready).
    :param rows: how many records (rows, events) the file holds.
    """
    manifest = ExportManifest(
        kind=kind,
        parameters=parameters,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(manifest)
    session.flush()
    document = manifest_document(manifest)
    manifest.canonical_json = canonical_json(document).decode()
    manifest.manifest_hash = document_hash(document).hex()
    session.add(manifest)
    session.commit()
    return manifest


def manifest_document(manifest: ExportManifest) -> dict[str, Any]:
    """The document whose hash is anchored: everything that identifies the export."""
    return {
        "schema": MANIFEST_SCHEMA,
        "id": manifest.id,
        "kind": manifest.kind,
        "parameters": manifest.parameters,
        "sha256": manifest.sha256,
        "rows": manifest.rows,
        "created_by": manifest.created_by_id,
        "created_at": manifest.created_at.isoformat(timespec="microseconds"),
    }


def manifest_proof(session: Session, actor: Actor, manifest_id: int) -> ManifestProof:
    """A manifest with its round: inspectors and admins see every one, others their own.

    :raises NotFound: unknown, or another user's manifest for a farmer.
    """
    manifest = session.get(ExportManifest, manifest_id)
    if manifest is None or manifest.canonical_json is None:
        raise NotFound()
    if actor.role not in (Role.INSPECTOR, Role.ADMIN) and manifest.created_by_id != actor.user_id:
        raise NotFound()
    anchor = session.get(AnchorRound, manifest.round_id) if manifest.round_id else None
    return ManifestProof(manifest, json.loads(manifest.canonical_json), anchor)


def pending_manifests(session: Session, limit: int) -> list[ExportManifest]:
    """Manifests whose hash is in no round yet, oldest first (anchoring takes these)."""
    if limit <= 0:
        return []
    statement = (
        select(ExportManifest)
        .where(col(ExportManifest.round_id).is_(None))
        .where(col(ExportManifest.manifest_hash).is_not(None))
        .order_by(col(ExportManifest.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def manifests_in_round(session: Session, round_id: int) -> list[ExportManifest]:
    """The manifests a round holds, in leaf order (after the round's lot documents)."""
    statement = (
        select(ExportManifest)
        .where(ExportManifest.round_id == round_id)
        .order_by(col(ExportManifest.id))
    )
    return list(session.exec(statement))


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if hasattr(v, "isoformat") else v
        for k, v in values.items()
        if v is not None
    }


def count_pending_manifests(session: Session) -> int:
    """How many manifests wait for a round (the anchoring scheduler counts them as leaves)."""
    statement = (
        select(func.count())
        .select_from(ExportManifest)
        .where(col(ExportManifest.round_id).is_(None))
        .where(col(ExportManifest.manifest_hash).is_not(None))
    )
    return int(session.exec(statement).one())

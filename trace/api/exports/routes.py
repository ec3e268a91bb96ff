"""FSMA 204 sortable spreadsheets (CSV, XLSX), each with a recorded manifest, and the
manifests with their anchoring proofs."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response
from flask.views import MethodView

from trace.api import auth
from trace.api.core import ApiBlueprint
from trace.api.exports.schemas import Fsma204QueryArgsSchema, ManifestSchema
from trace.db import get_session
from trace.downloads import download_headers
from trace.models.tokens import Scope
from trace.reports.fsma204 import ExportFilter
from trace.reports.sheets import CSV_TYPE, XLSX_TYPE
from trace.services.exports import ManifestProof, fsma204_export, manifest_proof

blp = ApiBlueprint(
    "exports", __name__, url_prefix="/api/v1/exports", description="FSMA 204 exports."
)
HEADERS = {
    "Repr-Digest": {"description": "sha-256 of the file (RFC 9530).", "schema": {"type": "string"}},
    "Export-Manifest": {
        "description": "Id of the recorded manifest (`/api/v1/exports/manifests/{id}`).",
        "schema": {"type": "integer"},
    },
}


@blp.route("/fsma204.csv")
class Fsma204Csv(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(Fsma204QueryArgsSchema, location="query")
    @blp.response(200, content_type=CSV_TYPE, headers=HEADERS, description="One row per CTE.")
    def get(self, args: dict[str, Any]) -> Response:
        """FSMA 204 records as CSV: one row per critical tracking event, KDEs as columns."""
        return export_response(args, "csv", CSV_TYPE)


@blp.route("/fsma204.xlsx")
class Fsma204Xlsx(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(Fsma204QueryArgsSchema, location="query")
    @blp.response(200, content_type=XLSX_TYPE, headers=HEADERS, description="A sheet per CTE.")
    def get(self, args: dict[str, Any]) -> Response:
        """FSMA 204 records as an XLSX workbook: all CTEs, then a sheet per CTE."""
        return export_response(args, "xlsx", XLSX_TYPE)


@blp.route("/manifests/<int:manifest_id>")
class Manifest(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, ManifestSchema)
    def get(self, manifest_id: int) -> dict[str, Any]:
        """An export's manifest: the file's sha256, and the proof that it was anchored."""
        return manifest_item(manifest_proof(get_session(), auth.actor(), manifest_id))


def export_response(args: dict[str, Any], fmt: str, mimetype: str) -> Response:
    """Build the file, record its manifest, and send it with its digest."""
    exported = fsma204_export(get_session(), auth.actor(), ExportFilter(**args), fmt)
    filename = f"fsma204-{exported.manifest.id}.{fmt}"
    return Response(
        exported.data,
        content_type=mimetype,
        headers=download_headers(filename)
        | manifest_headers(exported.manifest.id, exported.manifest.sha256),  # type: ignore[arg-type]
    )


def manifest_headers(manifest_id: int, sha256: str) -> dict[str, str]:
    """The headers naming an exported file's digest (RFC 9530) and manifest."""
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    return {"Repr-Digest": f"sha-256=:{digest}:", "Export-Manifest": str(manifest_id)}


def manifest_item(proof: ManifestProof) -> dict[str, Any]:
    """A manifest and, once its round is prepared, its path and anchor."""
    manifest, anchor = proof.manifest, proof.anchor
    return {
        "id": manifest.id,
        "kind": manifest.kind,
        "sha256": manifest.sha256,
        "rows": manifest.rows,
        "created_at": manifest.created_at,
        "document": proof.document,
        "manifest_hash": f"0x{manifest.manifest_hash}",
        "status": anchor.status if anchor else "waiting",
        "path": [f"0x{step}" for step in manifest.round_proof or []] if anchor else None,
        "anchor": None
        if anchor is None
        else {
            "root": f"0x{anchor.root}",
            "leaf_count": anchor.leaf_count,
            "chain_id": anchor.chain_id,
            "contract": anchor.contract_address,
            "tx_hash": anchor.tx_hash,
            "block_number": anchor.block_number,
        },
    }

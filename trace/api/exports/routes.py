"""FSMA 204 sortable spreadsheets (CSV, XLSX), each with a recorded manifest."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response
from flask.views import MethodView

from trace.api import auth
from trace.api.core import ApiBlueprint
from trace.api.exports.schemas import Fsma204QueryArgsSchema
from trace.db import get_session
from trace.models.tokens import Scope
from trace.reports.fsma204 import ExportFilter
from trace.reports.sheets import CSV_TYPE, XLSX_TYPE
from trace.services.exports import fsma204_export

blp = ApiBlueprint(
    "exports", __name__, url_prefix="/api/v1/exports", description="FSMA 204 exports."
)
HEADERS = {
    "Repr-Digest": {"description": "sha-256 of the file (RFC 9530).", "schema": {"type": "string"}},
    "Export-Manifest": {
        "description": "Id of the recorded manifest.",
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


def export_response(args: dict[str, Any], fmt: str, mimetype: str) -> Response:
    """Build the file, record its manifest, and send it with its digest."""
    exported = fsma204_export(get_session(), auth.actor(), ExportFilter(**args), fmt)
    digest = base64.b64encode(bytes.fromhex(exported.manifest.sha256)).decode()
    return Response(
        exported.data,
        content_type=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="fsma204-{exported.manifest.id}.{fmt}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "Export-Manifest": str(exported.manifest.id),
        },
    )

"""Inspections of a lot, and the lot's inspection report PDF."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_babel import force_locale

from trace.anchoring import check_integrity
from trace.api import auth
from trace.api.batches.routes import local_now
from trace.api.batches.schemas import EventSchema
from trace.api.batches.serializers import event_item
from trace.api.core import ApiBlueprint
from trace.api.inspections.schemas import InspectionCreateSchema
from trace.api.problems import api_locale
from trace.db import get_session
from trace.downloads import download_headers
from trace.models.tokens import Scope
from trace.reports.inspection_pdf import render_lot_report
from trace.services.inspections import Inspection, record_inspection
from trace.services.lot_view import lot_record

blp = ApiBlueprint(
    "inspections", __name__, url_prefix="/api/v1/batches", description="Inspections of lots."
)


@blp.route("/<int:lot_id>/inspections")
class Inspections(MethodView):
    @auth.requires(blp, Scope.CAPTURE)
    @auth.errors(blp, 400, 404, 422)
    @blp.arguments(InspectionCreateSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, EventSchema)
    def post(self, form: dict[str, Any], lot_id: int) -> dict[str, Any]:
        """Record an inspection (pass or fail, notes, optional PDF) as an event of the lot."""
        # The form's text fields come through webargs; the file part is read here, so one
        # schema documents the whole multipart body.
        upload = request.files.get("report")
        inspection = Inspection(
            form["result"], form["notes"], form["place"], upload.read() if upload else None
        )
        session = get_session()
        event = record_inspection(
            session,
            auth.actor(),
            lot_id,
            inspection,
            local_now(),
            current_app.config["UPLOAD_FOLDER"],
        )
        record = lot_record(session, auth.actor(), lot_id)
        return event_item(next(e for e in record.events if e.event.id == event.id))


@blp.route("/<int:lot_id>/report.pdf")
class InspectionReport(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 404)
    @blp.response(200, content_type="application/pdf", description="The inspection report.")
    def get(self, lot_id: int) -> Response:
        """The lot's inspection report (English, or Vietnamese by Accept-Language): facts,
        events, certificates, anchoring proof and a QR code to re-check the lot."""
        session = get_session()
        record = lot_record(session, auth.actor(), lot_id)
        integrity = check_integrity(session, lot_id)
        url = f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/batches/{lot_id}/integrity"
        with force_locale(api_locale()):
            pdf = render_lot_report(record, integrity, url, current_app.config.get("REPORT_FONTS"))
        return Response(
            pdf,
            mimetype="application/pdf",
            headers=download_headers(f"lot-{lot_id}-report.pdf", inline=True),
        )

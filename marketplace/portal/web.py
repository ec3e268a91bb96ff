"""The portal pages: a farmer's opt-in switch, and the admin's view of what was sent."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from marketplace.extensions import portal_settings
from marketplace.portal.models import PortalPush, PortalRecord, RecordState
from marketplace.portal.services import enrolment_of, history, overview, push_now, set_enrolment
from trace.db import get_session
from trace.i18n import _l
from trace.models import Role
from trace.web.forms import ActionForm
from trace.web.guards import actor, roles

bp = Blueprint("portal", __name__, url_prefix="/marketplace/portal", template_folder="../templates")
RECORD_LABELS = {
    "organisation": _l("Organisation"),
    "product": _l("Product"),
    "growing_area": _l("Growing area"),
    "production_order": _l("Production order (lot)"),
    "stage_event": _l("Stage event"),
    "recall": _l("Recall"),
}
RECORD_STATES = {
    RecordState.PENDING: _l("Pending"),
    RecordState.SENT: _l("Sent"),
    RecordState.REJECTED: _l("Refused by the portal"),
    RecordState.BLOCKED: _l("Waiting for another record"),
    RecordState.FAILED: _l("Error"),
}


def init_app(app: Flask) -> None:
    """Register the portal pages."""
    app.register_blueprint(bp)


def _configured() -> bool:
    return portal_settings(current_app) is not None


@bp.get("/")
@roles(Role.FARMER, Role.ADMIN)
def index() -> ResponseReturnValue:
    """A farmer's switch; the admin's list of producers who share with the portal."""
    session, who = get_session(), actor()
    if who.role == Role.FARMER:
        enrolment = enrolment_of(session, who.producer_id)  # type: ignore[arg-type]
        context = {"enrolled": bool(enrolment and enrolment.enabled)}
        return render_template(
            "marketplace/portal_farmer.html", action=ActionForm(), configured=_configured(),
            **context,
        )  # fmt: skip
    return render_template(
        "marketplace/portal_admin.html", rows=overview(session, who), states=RECORD_STATES
    )


@bp.post("/enrolment")
@roles(Role.FARMER, Role.ADMIN)
def enrolment() -> ResponseReturnValue:
    """Opt in or out (``enabled`` = 1 or 0); an admin names the producer."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("portal.index"))
    who, enabled = actor(), request.form.get("enabled") == "1"
    producer_id = request.form.get("producer_id", type=int)
    row = set_enrolment(get_session(), who, enabled, producer_id)
    flash(
        _l("Your data will be sent to the national traceability portal in a moment.")
        if enabled
        else _l("Nothing more will be sent to the national traceability portal.")
    )
    if who.role == Role.ADMIN:
        return redirect(url_for("portal.producer", producer_id=row.producer_id))
    return redirect(url_for("portal.index"))


@bp.get("/producers/<int:producer_id>")
@roles(Role.ADMIN)
def producer(producer_id: int) -> ResponseReturnValue:
    """What was sent for one producer, when, and what the portal said."""
    session = get_session()
    found, records, pushes = history(session, actor(), producer_id)
    enrolment = enrolment_of(session, producer_id)
    return render_template(
        "marketplace/portal_producer.html", producer=found, records=records, pushes=pushes,
        enrolled=bool(enrolment and enrolment.enabled), action=ActionForm(),
        labels=RECORD_LABELS, states=RECORD_STATES,
    )  # fmt: skip


@bp.get("/producers/<int:producer_id>/history.json")
@roles(Role.ADMIN)
def producer_json(producer_id: int) -> ResponseReturnValue:
    """The same history as JSON: records and requests with the portal's answers."""
    found, records, pushes = history(get_session(), actor(), producer_id)
    return jsonify(
        producer_id=found.id,
        records=[_record(row) for row in records],
        items=[_push(row) for row in pushes],
    )


@bp.post("/producers/<int:producer_id>/push")
@roles(Role.ADMIN)
def push(producer_id: int) -> ResponseReturnValue:
    """Push the producer again now, records that failed included."""
    if ActionForm().validate_on_submit():
        push_now(get_session(), actor(), producer_id)
        flash(_l("The producer's data will be sent again in a moment."))
    return redirect(url_for("portal.producer", producer_id=producer_id))


def _record(row: PortalRecord) -> dict[str, object]:
    return {
        "kind": row.kind, "local_id": row.local_id, "state": row.state,
        "remote_id": row.remote_id, "last_error": row.last_error,
        "last_synced_at": row.last_synced_at.isoformat() if row.last_synced_at else None,
    }  # fmt: skip


def _push(row: PortalPush) -> dict[str, object]:
    return {
        "kind": row.kind, "method": row.method, "path": row.path, "request": row.request,
        "status_code": row.status_code, "response": row.response, "outcome": row.outcome,
        "sent_at": row.sent_at.isoformat(),
    }  # fmt: skip

"""Administration: approving and suspending producers, inspector accounts."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import select

from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Certification, Plot, ProducerStatus, Product, Role, User
from trace.services import accounts, certifications, lots
from trace.services import producers as producer_service
from trace.web.farm import owned_by
from trace.web.forms import ActionForm, InspectorForm
from trace.web.guards import actor, roles

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/producers")
@roles(Role.ADMIN, Role.INSPECTOR)
def producers() -> ResponseReturnValue:
    """Producers, filterable by status and name."""
    status = request.args.get("status") or None
    if status not in (None, *ProducerStatus):
        status = None
    rows = producer_service.list_producers(get_session(), status, request.args.get("q"))
    return render_template(
        "admin/producers.html",
        producers=rows,
        status=status,
        form=ActionForm(),
        q=request.args.get("q", ""),
    )


@bp.get("/producers/<int:producer_id>")
@roles(Role.ADMIN, Role.INSPECTOR)
def producer_detail(producer_id: int) -> ResponseReturnValue:
    """One producer with everything it registered."""
    session = get_session()
    producer = producer_service.get_producer(session, actor(), producer_id)
    return render_template(
        "admin/producer.html",
        producer=producer,
        form=ActionForm(),
        today=date.today(),
        plots=owned_by(Plot, producer_id),
        products=owned_by(Product, producer_id),
        certifications=owned_by(Certification, producer_id),
        lots=lots.list_lots(session, actor(), producer_id),
    )


@bp.post("/producers/<int:producer_id>/<action>")
@roles(Role.ADMIN)
def change_status(producer_id: int, action: str) -> ResponseReturnValue:
    """Approve or suspend a producer."""
    new_status = {"approve": ProducerStatus.APPROVED, "suspend": ProducerStatus.SUSPENDED}.get(
        action
    )
    if new_status is None or not ActionForm().validate_on_submit():
        abort(400)
    producer = accounts.set_producer_status(get_session(), actor(), producer_id, new_status)
    message = (
        _l("Producer approved.")
        if new_status == ProducerStatus.APPROVED
        else _l("Producer suspended.")
    )
    flash(f"{message} {producer.name}")
    return redirect(
        request.referrer if _same_site(request.referrer) else url_for("admin.producers")
    )


@bp.post("/certifications/<int:cert_id>/verify")
@roles(Role.ADMIN, Role.INSPECTOR)
def verify_certification(cert_id: int) -> ResponseReturnValue:
    """Mark a declared certification verified (checked with its issuer)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    cert = certifications.verify_certification(get_session(), actor(), cert_id)
    flash(_l("Certification %(number)s verified.", number=cert.number))
    return redirect(url_for("admin.producer_detail", producer_id=cert.producer_id))


@bp.route("/inspectors", methods=["GET", "POST"])
@roles(Role.ADMIN)
def inspectors() -> ResponseReturnValue:
    """Create inspector accounts and list them."""
    session = get_session()
    form = InspectorForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            accounts.create_user(
                session,
                form.email.data or "",
                form.password.data or "",
                Role.INSPECTOR,
                current_app.config["PASSWORD_HASH_METHOD"],
                full_name=form.full_name.data or "",
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Inspector account created."))
            return redirect(url_for("admin.inspectors"))
    users = session.exec(select(User).where(User.role == Role.INSPECTOR).order_by(User.email)).all()
    status = 422 if form.has_errors() or errors else 200
    return render_template("admin/inspectors.html", form=form, errors=errors, users=users), status


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)  # type: ignore[union-attr]

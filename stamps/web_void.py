"""Farmers' pages for voiding damaged labels: choose, preview, confirm, undo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from stamps import voiding
from stamps.identity import format_serial
from stamps.minting import runs_of_lot
from stamps.models import StampVoid
from stamps.voiding import Label
from trace.db import get_session
from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Lot, Role
from trace.models.base import utcnow
from trace.services.access import owned
from trace.web.forms import Form
from trace.web.guards import actor, roles

void_bp = Blueprint("voids", __name__, template_folder="templates")
PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed in


class PositionForm(Form):
    run = SelectField(_l("Run (sheet)"), validate_choice=False)
    first_label = StringField(_l("First label"), render_kw={"inputmode": "numeric"})
    last_label = StringField(
        _l("Last label (empty: only the first)"), render_kw={"inputmode": "numeric"}
    )


class SerialForm(Form):
    serials = TextAreaField(
        _l("Serials, one per line (type them or scan the labels)"), render_kw={"rows": 5}
    )


class ConfirmForm(Form):
    token = HiddenField()


@void_bp.get("/lots/<int:lot_id>/stamps/void")
@roles(Role.FARMER)
def choose(lot_id: int) -> ResponseReturnValue:
    """Choose the labels to void: by run and label number, or by serial."""
    return _choose_page(lot_id, _position_form(lot_id), SerialForm(prefix="serial"))


@void_bp.post("/lots/<int:lot_id>/stamps/void")
@roles(Role.FARMER)
def preview(lot_id: int) -> ResponseReturnValue:
    """Show exactly which stamps a void would change, with a form to confirm it."""
    session = get_session()
    by_serial = request.form.get("by") == "serial"
    positions, serials = _position_form(lot_id), SerialForm(prefix="serial")
    form: Form = serials if by_serial else positions
    if not form.validate_on_submit():
        return _choose_page(lot_id, positions, serials, 422)
    try:
        if by_serial:
            labels = voiding.labels_by_serial(session, actor(), lot_id, serials.serials.data or "")
        else:
            labels = voiding.labels_by_position(
                session,
                actor(),
                lot_id,
                positions.run.data,
                positions.first_label.data,
                positions.last_label.data,
            )
    except ValidationError as error:
        return _choose_page(lot_id, positions, serials, 422, form.attach(error.errors))
    confirm = ConfirmForm(token=_signer().dumps(_payload(lot_id, labels)))
    return render_template(
        "stamps/void_preview.html",
        lot=session.get(Lot, lot_id),
        labels=labels,
        changing=sum(label.voidable for label in labels),
        form=confirm,
        hours=_window_hours(),
        format_serial=format_serial,
    )


@void_bp.post("/lots/<int:lot_id>/stamps/void/confirm")
@roles(Role.FARMER)
def confirm(lot_id: int) -> ResponseReturnValue:
    """Void the previewed labels."""
    session = get_session()
    owned(session, actor(), Lot, lot_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    labels = _previewed(lot_id, form.token.data or "")
    if labels is None:
        flash(_l("This preview has expired or was changed. Choose the labels again."))
        return redirect(url_for("voids.choose", lot_id=lot_id))
    try:
        void = voiding.void_labels(session, actor(), lot_id, labels)
    except ValidationError as error:
        flash(" ".join(str(message) for message in error.errors.values()))
        return redirect(url_for("voids.choose", lot_id=lot_id))
    n = len(void.stamps)
    flash(
        _l(
            "%(n)s labels voided. You can undo this within %(hours)s hours.",
            n=f"{n:,}",
            hours=_window_hours(),
        )
    )
    return redirect(url_for("voids.choose", lot_id=lot_id))


@void_bp.post("/voids/<int:void_id>/undo")
@roles(Role.FARMER)
def undo(void_id: int) -> ResponseReturnValue:
    """Give a void's labels back the status they had."""
    session = get_session()
    void = session.get(StampVoid, void_id)
    if void is None:
        raise NotFound()
    lot = owned(session, actor(), Lot, void.lot_id)
    if not Form().validate_on_submit():
        abort(400)
    try:
        done = voiding.undo_void(session, actor(), void_id, _window())
    except ValidationError as error:
        flash(" ".join(str(message) for message in error.errors.values()))
    else:
        flash(_l("Void undone: %(n)s labels restored.", n=f"{len(done.stamps):,}"))
    return redirect(url_for("voids.choose", lot_id=lot.id))


def _choose_page(
    lot_id: int,
    positions: PositionForm,
    serials: SerialForm,
    status: int = 200,
    errors: list[str] | None = None,
) -> ResponseReturnValue:
    session = get_session()
    lot = owned(session, actor(), Lot, lot_id)
    if actor().producer_id != lot.producer_id:
        raise NotFound()
    voids = voiding.recent_voids(session, lot_id)
    return render_template(
        "stamps/void.html",
        lot=lot,
        positions=positions,
        serials=serials,
        errors=errors or [],
        voids=[(void, undone, _undoable(void, undone)) for void, undone in voids],
        action_form=Form(),
        hours=_window_hours(),
    ), status


def _position_form(lot_id: int) -> PositionForm:
    form = PositionForm(prefix="position")
    runs = runs_of_lot(get_session(), lot_id)
    form.run.choices = [
        (str(run.id), str(_l("Run #%(run)s · %(n)s labels", run=run.id, n=f"{run.count:,}")))
        for run in runs
    ]
    return form


def _undoable(void: StampVoid, undone: bool) -> bool:
    return not undone and utcnow() - void.created_at <= _window()


def _window() -> timedelta:
    return timedelta(hours=current_app.config["STAMP_VOID_UNDO_HOURS"])


def _window_hours() -> int:
    return int(current_app.config["STAMP_VOID_UNDO_HOURS"])


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="stamp-void")


def _payload(lot_id: int, labels: list[Label]) -> dict[str, Any]:
    rows = [[x.stamp_id, x.serial, x.run_id, x.position, x.status] for x in labels]
    return {"lot": lot_id, "user": actor().user_id, "labels": rows}


def _previewed(lot_id: int, token: str) -> list[Label] | None:
    """The labels a signed preview named, if it is this user's, of this lot and recent."""
    try:
        data = _signer().loads(token, max_age=PREVIEW_MAX_AGE)
    except BadSignature:
        return None
    if data.get("lot") != lot_id or data.get("user") != actor().user_id:
        return None
    return [Label(*row) for row in data["labels"]]

"""Lots and their events: list, create, the lot page with its timeline, event forms."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, select
from wtforms import SelectChoice

from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Certification, EventKind, Lot, Plot, Producer, Product, Role
from trace.services import events as event_service
from trace.services import lots as lot_service
from trace.services.places import place_labels
from trace.web.farm import owned_by
from trace.web.forms import (
    EVENT_LABELS,
    EventForm,
    LotForm,
    TransformForm,
    choices,
    int_or_none,
    parse_date,
    parse_local_time,
)
from trace.web.guards import actor, roles

bp = Blueprint("lots", __name__, url_prefix="/lots")


def _choices(producer_id: int) -> tuple[list[SelectChoice], list[SelectChoice]]:
    products = choices((p.id, f"{p.name_vi} — {p.gtin}") for p in owned_by(Product, producer_id))
    plots = choices([("", "—")] + [(p.id, p.name) for p in owned_by(Plot, producer_id)])
    return products, plots


@bp.route("/", methods=["GET", "POST"])
@roles(Role.FARMER)
def index() -> ResponseReturnValue:
    """The farmer's lots, and the form for a new one."""
    who = actor()
    assert who.producer_id is not None
    form = LotForm()
    form.product_id.choices, form.plot_id.choices = _choices(who.producer_id)
    errors: list[str] = []
    if form.validate_on_submit():
        new = lot_service.NewLot(
            product_id=int_or_none(form.product_id.data),
            code=form.code.data or "",
            harvest_date=parse_date(form.harvest_date),
            quantity=form.quantity.data,
            unit=form.unit.data or "",
            plot_id=int_or_none(form.plot_id.data),
        )
        try:
            lot = lot_service.create_lot(get_session(), who, new, date.today())
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Lot recorded."))
            return redirect(url_for("lots.detail", lot_id=lot.id))
    rows = lot_service.list_lots(get_session(), who, who.producer_id)
    status = 422 if form.has_errors() or errors else 200
    return render_template("lots/index.html", form=form, errors=errors, rows=rows), status


@bp.get("/<int:lot_id>")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def detail(lot_id: int) -> ResponseReturnValue:
    """The lot page: facts, warnings, the timeline, one step back and forward."""
    session = get_session()
    lot = lot_service.get_lot(session, actor(), lot_id)
    entries = event_service.timeline(session, lot_id)
    context = {
        "lot": lot,
        "product": session.get(Product, lot.product_id),
        "producer": session.get(Producer, lot.producer_id),
        "plot": session.get(Plot, lot.plot_id) if lot.plot_id else None,
        "entries": entries,
        "place_labels": place_labels(session, _identifiers_of(entries)),
        "warnings": event_service.phi_warnings(lot, event_service.current_events(entries)),
        "inputs": lot_service.input_lots(session, lot_id),
        "outputs": lot_service.output_lots(session, lot_id),
        "certifications": owned_by(Certification, lot.producer_id),
        "today": date.today(),
        "event_labels": EVENT_LABELS,
        "recordable": event_service.RECORDABLE,
        "can_record": actor().producer_id == lot.producer_id,
        "passport_missing": passport_missing(session, lot_id),
    }
    return render_template("lots/detail.html", **context)


def _identifiers_of(entries: list[event_service.TimelineEntry]) -> list[str]:
    """Every place, source and destination on the timeline (captured events name GLNs)."""
    return [e.event.place for e in entries] + [
        v for e in entries for v in e.event.details.values() if isinstance(v, str)
    ]


def passport_missing(session: Session, lot_id: int) -> list[str]:
    """What the lot's digital product passport still lacks, as the producer reads it."""
    from trace.anchoring.documents import build_document
    from trace.passport import FIELD_LABELS, missing_fields

    passport = build_document(session, lot_id).get("passport")
    return [str(FIELD_LABELS[name]) for name in missing_fields(passport)] if passport else []


@bp.route("/<int:lot_id>/events/<kind>", methods=["GET", "POST"])
@roles(Role.FARMER)
def new_event(lot_id: int, kind: str) -> ResponseReturnValue:
    """Record one event of ``kind`` on a lot, or correct an earlier one (``?supersedes=``)."""
    if kind not in event_service.RECORDABLE:
        abort(404)
    session = get_session()
    lot = lot_service.get_lot(session, actor(), lot_id)
    supersedes = int_or_none(request.args.get("supersedes"))
    form = EventForm()
    errors: list[str] = []
    if form.validate_on_submit():
        new = event_service.NewEvent(
            kind=kind,
            occurred_at=parse_local_time(form.occurred_at, form.tz),
            place=form.place.data or "",
            note=form.note.data or "",
            details={name: form[name].data for name in event_service.require_details(kind)},
            supersedes_id=supersedes,
        )
        try:
            event_service.record_event(session, actor(), lot_id, new)
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Event recorded."))
            return redirect(url_for("lots.detail", lot_id=lot_id))
    return render_template(
        "lots/event_form.html",
        form=form,
        errors=errors,
        lot=lot,
        kind=kind,
        kind_label=EVENT_LABELS[EventKind(kind)],
        supersedes=supersedes,
        detail_fields=event_service.require_details(kind),
    ), 422 if form.has_errors() or errors else 200


@bp.route("/transform", methods=["GET", "POST"])
@roles(Role.FARMER)
def transform() -> ResponseReturnValue:
    """Make a new lot from input lots (sorting, drying, processing)."""
    who = actor()
    assert who.producer_id is not None
    session = get_session()
    form = TransformForm()
    form.product_id.choices, _ = _choices(who.producer_id)
    own_lots = session.exec(select(Lot).where(Lot.producer_id == who.producer_id)).all()
    form.input_lot_ids.choices = choices((lot.id, lot.code) for lot in own_lots)
    if request.method == "GET" and request.args.get("from"):
        form.input_lot_ids.data = [request.args["from"]]
    errors: list[str] = []
    if form.validate_on_submit():
        output = lot_service.NewLot(
            product_id=int_or_none(form.product_id.data),
            code=form.code.data or "",
            harvest_date=None,
            quantity=form.quantity.data,
            unit=form.unit.data or "",
        )
        inputs = [i for i in (int_or_none(v) for v in form.input_lot_ids.data or []) if i]
        try:
            lot = lot_service.transform_lots(
                session,
                who,
                inputs,
                output,
                parse_local_time(form.occurred_at, form.tz),
                form.place.data or "",
                date.today(),
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("New lot made from its input lots."))
            return redirect(url_for("lots.detail", lot_id=lot.id))
    status = 422 if form.has_errors() or errors else 200
    return render_template("lots/transform.html", form=form, errors=errors), status

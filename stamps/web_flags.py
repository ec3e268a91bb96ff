"""Pages for flag reviews (inspectors, admins) and the clone rules' limits (admins)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import col, select
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Optional

from stamps import api_flags
from stamps.flag_review import (
    explain,
    flags_query,
    limits_of,
    review_flag,
    set_limits,
    threshold_rows,
)
from stamps.models import FlagReview
from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Product, Role
from trace.web.forms import Form
from trace.web.guards import actor, roles

flags_bp = Blueprint("flags", __name__, template_folder="templates")
PAGE_SIZE = 100
REVIEW_LABELS = {
    FlagReview.OPEN: _l("Awaiting review"),
    FlagReview.CONFIRMED: _l("Confirmed"),
    FlagReview.DISMISSED: _l("Dismissed"),
}


class ReviewForm(Form):
    # Sent by the button pressed: "confirmed" or "dismissed" (the service checks it).
    decision = StringField()
    note = TextAreaField(_l("Note"))


class LimitsForm(Form):
    gtin = StringField(_l("Product GTIN (empty: the province default)"))
    max_scans = IntegerField(_l("Scans before a stamp is suspicious"), validators=[Optional()])
    max_travel_kmh = IntegerField(_l("Fastest believable travel (km/h)"), validators=[Optional()])
    min_travel_km = IntegerField(_l("Shortest distance checked (km)"), validators=[Optional()])


def init_app(app: Flask) -> None:
    """Register the review pages and the API resources (the scan window: ``trace.config``)."""
    app.register_blueprint(flags_bp)
    api_flags.init_app(app)


@flags_bp.get("/inspect/flags")
@roles(Role.INSPECTOR, Role.ADMIN)
def index() -> ResponseReturnValue:
    """Flags to review (open by default), newest first, each with a review form."""
    review = request.args.get("review", str(FlagReview.OPEN))
    if review not in set(FlagReview):
        review = str(FlagReview.OPEN)
    session = get_session()
    rows = session.execute(flags_query(actor(), review).limit(PAGE_SIZE)).all()
    return render_template(
        "stamps/flags.html",
        rows=rows,
        review=review,
        labels=REVIEW_LABELS,
        explain=explain,
        form=ReviewForm(),
    )


@flags_bp.post("/inspect/flags/<int:flag_id>/review")
@roles(Role.INSPECTOR, Role.ADMIN)
def review(flag_id: int) -> ResponseReturnValue:
    """Confirm or dismiss one flag."""
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        review_flag(get_session(), actor(), flag_id, form.decision.data or "", form.note.data or "")
    except ValidationError as error:
        flash(" ".join(str(message) for message in error.errors.values()))
    else:
        flash(_l("Review saved."))
    return redirect(url_for("flags.index", review=request.args.get("review", "open")))


@flags_bp.route("/admin/clone-limits", methods=["GET", "POST"])
@roles(Role.ADMIN)
def limits() -> ResponseReturnValue:
    """The clone rules' limits: the province default, or one product's own."""
    session = get_session()
    form = LimitsForm()
    errors: list[str] = []
    if form.validate_on_submit():
        product = _product_by_gtin(session, form.gtin.data)
        if form.gtin.data and product is None:
            errors = form.attach({"gtin": _l("No product has this GTIN.")})
        else:
            values = {
                name: getattr(form, name).data
                for name in ("max_scans", "max_travel_kmh", "min_travel_km")
            }
            try:
                set_limits(session, actor(), product.id if product else None, values)
            except ValidationError as error:
                errors = form.attach(error.errors)
            else:
                flash(_l("Limits saved."))
                return redirect(url_for("flags.limits"))
    rows = threshold_rows(session)
    products = {
        p.id: p
        for p in session.exec(
            select(Product).where(
                col(Product.id).in_([r.product_id for r in rows if r.product_id is not None])
            )
        )
    }
    status = 422 if errors or form.has_errors() else 200
    page = render_template(
        "stamps/clone_limits.html",
        form=form,
        errors=errors,
        default=limits_of(session, None),
        window=current_app.config["SCAN_WINDOW_MINUTES"],
        rows=[(row, products.get(row.product_id)) for row in rows if row.product_id is not None],
    )
    return page, status


def _product_by_gtin(session: Any, gtin: str | None) -> Product | None:
    if not gtin:
        return None
    return session.exec(select(Product).where(Product.gtin == gtin.strip())).first()

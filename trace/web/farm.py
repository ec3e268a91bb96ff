"""A farmer's own producer: dashboard, profile, plots, certifications and products."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from trace.db import get_session
from trace.downloads import send_upload
from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Certification, Plot, Producer, Product, Role
from trace.models.base import stored_id
from trace.services import holdings, producers
from trace.services.certifications import products_covered
from trace.uploads import PDF
from trace.web.auth import profile_from
from trace.web.forms import (
    CertificationForm,
    PlotForm,
    ProductForm,
    ProfileForm,
    choices,
    int_or_none,
    parse_date,
)
from trace.web.guards import actor, roles

bp = Blueprint("farm", __name__, url_prefix="/farm")


def _producer() -> Producer:
    who = actor()
    if who.producer_id is None:
        raise NotFound()
    return producers.get_producer(get_session(), who, who.producer_id)


_Owned = TypeVar("_Owned", Plot, Product, Certification)


def owned_by(model: type[_Owned], producer_id: int) -> list[_Owned]:
    """All rows of ``model`` belonging to a producer, newest first."""
    statement = select(model).where(col(model.producer_id) == producer_id)
    return list(get_session().exec(statement.order_by(col(model.id).desc())))


@bp.get("/")
@roles(Role.FARMER)
def dashboard() -> ResponseReturnValue:
    """The farmer's home: status of the producer and what to do next."""
    producer = _producer()
    producer_id = stored_id(producer)
    counts = {
        "plots": len(owned_by(Plot, producer_id)),
        "certifications": len(owned_by(Certification, producer_id)),
        "products": len(owned_by(Product, producer_id)),
    }
    return render_template("farm/dashboard.html", producer=producer, counts=counts)


@bp.route("/profile", methods=["GET", "POST"])
@roles(Role.FARMER)
def profile() -> ResponseReturnValue:
    """View and edit the producer profile."""
    producer = _producer()
    form = ProfileForm(obj=producer)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            producers.update_profile(get_session(), actor(), profile_from(form))
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Profile saved."))
            return redirect(url_for("farm.profile"))
    return _page("farm/profile.html", form, errors, producer=producer)


@bp.route("/plots", methods=["GET", "POST"])
@roles(Role.FARMER)
def plots() -> ResponseReturnValue:
    """List plots and add one."""
    producer = _producer()
    form = PlotForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            holdings.add_plot(
                get_session(),
                actor(),
                form.name.data or "",
                form.area_ha.data,
                form.latitude.data,
                form.longitude.data,
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Plot added."))
            return redirect(url_for("farm.plots"))
    return _page("farm/plots.html", form, errors, plots=owned_by(Plot, stored_id(producer)))


@bp.route("/certifications", methods=["GET", "POST"])
@roles(Role.FARMER)
def certifications() -> ResponseReturnValue:
    """List certifications and add one with its PDF."""
    producer = _producer()
    form = CertificationForm()
    products = owned_by(Product, stored_id(producer))
    form.product_ids.choices = choices((p.id, f"{p.name_vi} ({p.gtin})") for p in products)
    errors: list[str] = []
    if form.validate_on_submit():
        valid_from, valid_to = parse_date(form.valid_from), parse_date(form.valid_to)
        upload = form.pdf.data
        pdf = holdings.CertificateFile(upload.filename or "", upload.read()) if upload else None
        try:
            holdings.add_certification(
                get_session(),
                actor(),
                scheme=form.scheme.data or "",
                number=form.number.data or "",
                issuer=form.issuer.data or "",
                valid_from=valid_from,
                valid_to=valid_to,
                ocop_stars=int_or_none(form.ocop_stars.data),
                pdf=pdf,
                upload_folder=current_app.config["UPLOAD_FOLDER"],
                max_bytes=current_app.config["CERTIFICATE_MAX_BYTES"],
                product_ids=[i for i in (int_or_none(v) for v in form.product_ids.data or []) if i],
                producer_wide=bool(form.producer_wide.data),
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Certification added."))
            return redirect(url_for("farm.certifications"))
    certs = owned_by(Certification, stored_id(producer))
    return _page(
        "farm/certifications.html",
        form,
        errors,
        certifications=certs,
        covered=products_covered(get_session(), [stored_id(c) for c in certs]),
        product_names={p.id: p.name_vi for p in products},
        today=date.today(),
    )


@bp.get("/certifications/<int:cert_id>/certificate.pdf")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def certificate_pdf(cert_id: int) -> ResponseReturnValue:
    """Download a stored certificate PDF (the producer's own, or any for staff)."""
    from trace.services.access import owned

    cert = owned(get_session(), actor(), Certification, cert_id)
    if not cert.pdf_sha256:
        raise NotFound()
    path = holdings.certificate_path(current_app.config["UPLOAD_FOLDER"], cert.pdf_sha256)
    return send_upload(path, "certificate", cert.pdf_sha256, (PDF,))


@bp.route("/products", methods=["GET", "POST"])
@roles(Role.FARMER)
def products() -> ResponseReturnValue:
    """List products and add one."""
    producer = _producer()
    form = ProductForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            holdings.add_product(
                get_session(),
                actor(),
                name_vi=form.name_vi.data or "",
                name_en=form.name_en.data or "",
                category=form.category.data or "",
                unit=form.unit.data or "",
                gtin=form.gtin.data,
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Product added."))
            return redirect(url_for("farm.products"))
    return _page(
        "farm/products.html", form, errors, products=owned_by(Product, stored_id(producer))
    )


def _page(
    template: str,
    form: ProfileForm | PlotForm | CertificationForm | ProductForm,
    errors: list[str],
    **context: object,
) -> ResponseReturnValue:
    status = 422 if form.has_errors() or errors else 200
    return render_template(template, form=form, errors=errors, **context), status

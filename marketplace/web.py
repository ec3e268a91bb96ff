"""The farmers' marketplace pages: choose marketplaces, set price and stock, see sync state."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import col, select
from wtforms import BooleanField, StringField

from marketplace import feed, qr
from marketplace.extensions import sync_settings
from marketplace.models import ListingState, ListingSync
from marketplace.services import (
    ListingChoice,
    failed_listings,
    listings_for_product,
    retry_listing,
    save_listings,
)
from trace.db import get_session
from trace.downloads import download_headers
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Product, Role
from trace.services.access import owned
from trace.web.forms import ActionForm, Form
from trace.web.guards import actor, roles

bp = Blueprint("marketplace", __name__, url_prefix="/marketplace", template_folder="templates")
MARKETPLACE_LABELS = {"postmart": "postmart.vn", "voso": "voso.vn"}
STATE_LABELS = {
    ListingState.DRAFT: _l("Not sent yet"),
    ListingState.SYNCING: _l("Pending"),
    ListingState.LISTED: _l("Synced"),
    ListingState.FAILED: _l("Error"),
    ListingState.DELISTED: _l("Delisted"),
}


def init_app(app: Flask) -> None:
    """Register the pages, the CSV feeds and the public QR images."""
    app.register_blueprint(bp)
    app.context_processor(
        lambda: {"marketplace_labels": MARKETPLACE_LABELS, "state_labels": STATE_LABELS}
    )


def configured() -> list[str]:
    """The names of the marketplaces this deployment syncs with."""
    return sorted(sync_settings(current_app).adapters)


@bp.get("/")
@roles(Role.FARMER, Role.ADMIN)
def index() -> ResponseReturnValue:
    """A farmer's products with each listing's state; the dead-letter list for everyone."""
    session, who = get_session(), actor()
    products: list[Product] = []
    if who.role == Role.FARMER:
        statement = select(Product).where(Product.producer_id == who.producer_id)
        products = list(session.exec(statement.order_by(col(Product.id))))
    rows = session.exec(
        select(ListingSync).where(col(ListingSync.product_id).in_([p.id for p in products]))
    )
    by_product: dict[int, list[ListingSync]] = {}
    for row in rows:
        by_product.setdefault(row.product_id, []).append(row)
    context = {
        "products": products,
        "by_product": by_product,
        "failed": failed_listings(session, who),
    }
    return render_template("marketplace/index.html", action=ActionForm(), **context)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@roles(Role.FARMER)
def product(product_id: int) -> ResponseReturnValue:
    """Choose marketplaces for one product and set its price and stock on each."""
    session, who, names = get_session(), actor(), configured()
    item = owned(session, who, Product, product_id)
    rows = {row.marketplace: row for row in listings_for_product(session, who, product_id)}
    form = listings_form(names, rows)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            save_listings(session, who, product_id, choices_from(form, names), names)
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            flash(_l("Saved. The marketplaces are updated in a moment."))
            return redirect(url_for("marketplace.product", product_id=product_id))
    status = 422 if form.has_errors() or errors else 200
    context = {"product": item, "rows": rows, "names": names, "action": ActionForm()}
    return render_template("marketplace/product.html", form=form, errors=errors, **context), status


@bp.post("/listings/<int:listing_id>/retry")
@roles(Role.FARMER, Role.ADMIN)
def retry(listing_id: int) -> ResponseReturnValue:
    """Send a listing that gave up (or any listing) again."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("marketplace.index"))
    row = retry_listing(get_session(), actor(), listing_id)
    flash(_l("The listing will be sent again in a moment."))
    if actor().role == Role.FARMER:
        return redirect(url_for("marketplace.product", product_id=row.product_id))
    return redirect(url_for("marketplace.index"))


@bp.get("/<name>/feed.csv")
@roles(Role.FARMER)
def feed_csv(name: str) -> ResponseReturnValue:
    """The farmer's listings for one marketplace as a CSV to upload by hand."""
    who = actor()
    body = feed.feed_csv(get_session(), who, name, current_app.config["PUBLIC_BASE_URL"])
    filename = f"{name}-feed.csv"
    headers = download_headers(filename)
    return Response(body, mimetype="text/csv", headers=headers)


@bp.get("/lots/<int:lot_id>/qr.png")
def lot_qr(lot_id: int) -> ResponseReturnValue:
    """The QR code of a listed lot's Digital Link (public: marketplaces show it)."""
    return _png(qr.lot_qr_png(get_session(), lot_id, current_app.config["PUBLIC_BASE_URL"]))


@bp.get("/products/<int:product_id>/qr.png")
def product_qr(product_id: int) -> ResponseReturnValue:
    """The QR code of a listed product's Digital Link (the listing's image)."""
    return _png(qr.product_qr_png(get_session(), product_id, current_app.config["PUBLIC_BASE_URL"]))


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.cache_control.public, response.cache_control.max_age = True, 3600
    return response


def listings_form(names: list[str], rows: dict[str, ListingSync]) -> Form:
    """A form with, per marketplace, a tick box, a price (VND) and a stock field."""

    class ListingsForm(Form):
        pass

    numeric: dict[str, Any] = {"inputmode": "numeric", "autocomplete": "off"}
    for name in names:
        label = MARKETPLACE_LABELS.get(name, name)
        setattr(
            ListingsForm,
            f"{name}_enabled",
            BooleanField(_l("Sell on %(marketplace)s", marketplace=label)),
        )
        setattr(
            ListingsForm, f"{name}_price_vnd", StringField(_l("Price (VND)"), render_kw=numeric)
        )
        setattr(ListingsForm, f"{name}_stock", StringField(_l("Stock for sale"), render_kw=numeric))
    data: dict[str, Any] = {}
    for name, row in rows.items():
        data |= {
            f"{name}_enabled": row.enabled,
            f"{name}_price_vnd": str(row.price_vnd),
            f"{name}_stock": str(row.stock),
        }
    return ListingsForm(data=data)


def choices_from(form: Form, names: list[str]) -> list[ListingChoice]:
    """The farmer's choices as the service takes them."""
    return [
        ListingChoice(
            name,
            bool(form[f"{name}_enabled"].data),
            form[f"{name}_price_vnd"].data or "",
            form[f"{name}_stock"].data or "",
        )
        for name in names
    ]

"""The farmers' stamp pages: a lot's stamp runs, minting a run, activating it."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import StringField

from stamps import minting
from stamps.mint_limits import MintLimits
from stamps.models import StampRun
from stamps.render.layout import GRIDS
from stamps.web.blueprints import manage_bp
from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Lot, Product, Role
from trace.services.access import owned
from trace.web.forms import Form
from trace.web.guards import actor, roles


class MintForm(Form):
    count = StringField(_l("Number of stamps"), render_kw={"inputmode": "numeric"})
    pack_size = StringField(_l("Quantity per pack"), render_kw={"inputmode": "decimal"})


@manage_bp.route("/lots/<int:lot_id>/stamps", methods=["GET", "POST"])
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def lot_stamps(lot_id: int) -> ResponseReturnValue:
    """A lot's stamp runs and the mint form (voiding has its own pages: ``web_void``)."""
    session = get_session()
    lot = owned(session, actor(), Lot, lot_id)
    form = MintForm(prefix="mint")
    errors: list[str] = []
    if request.method == "POST":
        if actor().role != Role.FARMER:
            abort(404)
        if form.validate_on_submit():
            try:
                run = minting.mint_stamps(
                    session,
                    actor(),
                    lot_id,
                    form.count.data,
                    form.pack_size.data,
                    MintLimits.from_config(current_app.config),
                )
            except ValidationError as error:
                errors = form.attach(error.errors)
            else:
                flash(_l("%(n)s stamps minted.", n=f"{run.count:,}"))
                return redirect(url_for("stamps.lot_stamps", lot_id=lot_id))
    return _manage_page(lot, form, errors)


@manage_bp.post("/runs/<int:run_id>/activate")
@roles(Role.FARMER)
def activate(run_id: int) -> ResponseReturnValue:
    """Mark a run's stamps as applied to product."""
    session = get_session()
    if not Form().validate_on_submit():
        abort(400)
    try:
        run = minting.activate_run(session, actor(), run_id)
    except ValidationError as error:
        flash(" ".join(str(m) for m in error.errors.values()))
        found = session.get(StampRun, run_id)
        return redirect(url_for("stamps.lot_stamps", lot_id=found.lot_id if found else 0))
    flash(_l("Stamps activated."))
    return redirect(url_for("stamps.lot_stamps", lot_id=run.lot_id))


def _manage_page(lot: Lot, form: MintForm, errors: list[str]) -> Any:
    session = get_session()
    status = 422 if errors or form.has_errors() else 200
    return render_template(
        "stamps/manage.html",
        lot=lot,
        product=session.get(Product, lot.product_id),
        runs=minting.runs_of_lot(session, lot.id),  # type: ignore[arg-type]
        counts=minting.status_counts(session, lot.id),  # type: ignore[arg-type]
        form=form,
        errors=errors,
        grids=sorted(GRIDS),
        action_form=Form(),
        can_change=actor().producer_id == lot.producer_id,
    ), status

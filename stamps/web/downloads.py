"""The farmers' stamp downloads: a run's label sheet (PDF) and one stamp's QR image."""

from __future__ import annotations

from flask import Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from sqlmodel import select

from stamps.identity import stamp_uri
from stamps.label_sheet import label_sheet
from stamps.models import Stamp, StampRun
from stamps.render.layout import GRIDS
from stamps.render.qr import stamp_svg
from stamps.web.blueprints import manage_bp
from trace.db import get_session
from trace.errors import NotFound
from trace.models import Lot, Product, Role
from trace.qr import qr_png
from trace.services.access import owned
from trace.web.guards import actor, roles


@manage_bp.get("/runs/<int:run_id>/labels.pdf")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def labels_pdf(run_id: int) -> ResponseReturnValue:
    """A run as an A4 label sheet, streamed page by page."""
    grid = request.args.get("grid", "3x8")
    if grid not in GRIDS:
        abort(400)
    session = get_session()
    run = session.get(StampRun, run_id)
    if run is None or run.pending_until is not None:  # a run still being minted: no labels
        raise NotFound()
    lot = owned(session, actor(), Lot, run.lot_id)
    product = session.get(Product, lot.product_id)
    assert product is not None
    filename = f"stamps-{lot.code}-run{run_id}-{grid}.pdf".replace("/", "-")
    base = current_app.config["PUBLIC_BASE_URL"]
    return label_sheet(session, lot, product, base, grid, filename, run_id=run_id)


@manage_bp.get("/stamps/<serial>.<fmt>")
@roles(Role.FARMER, Role.INSPECTOR, Role.ADMIN)
def stamp_image(serial: str, fmt: str) -> ResponseReturnValue:
    """One stamp's QR code as PNG or SVG."""
    if fmt not in ("png", "svg"):
        abort(404)
    session = get_session()
    stamp = session.exec(select(Stamp).where(Stamp.serial == serial)).first()
    if stamp is None:
        raise NotFound()
    lot = owned(session, actor(), Lot, stamp.lot_id)
    product = session.get(Product, lot.product_id)
    assert product is not None
    uri = stamp_uri(current_app.config["PUBLIC_BASE_URL"], product.gtin, lot.code, serial)
    if fmt == "png":
        return Response(qr_png(uri), mimetype="image/png")
    return Response(stamp_svg(uri), mimetype="image/svg+xml")

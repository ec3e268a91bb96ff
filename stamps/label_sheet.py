"""Label sheets: a lot's (or one run's) published stamps in print order, as a streamed PDF.

Print order is run by run (oldest run first) and, within a run, by serial: label ``n`` of a
run on its sheet is the stamp :mod:`stamps.voiding` calls label position ``n``.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import Session, col, select

from stamps.identity import stamp_uri
from stamps.mint_runs import published
from stamps.models import Stamp, StampRun
from stamps.render.labels import Label, render_label_sheet
from stamps.streaming import stream_output
from trace.downloads import download_headers
from trace.models import Lot, Product


def position_in_run() -> Any:
    """The order of a run's labels on its sheet (what a label's position counts in)."""
    return col(Stamp.serial)


def printed_serials(session: Session, lot_id: int, run_id: int | None = None) -> list[str]:
    """The serials of the lot's published stamps (or of one run's), in print order."""
    statement = (
        select(Stamp.serial)
        .join(StampRun, col(StampRun.id) == Stamp.run_id)
        .where(Stamp.lot_id == lot_id, published())
    )
    if run_id is not None:
        statement = statement.where(Stamp.run_id == run_id)
    return list(session.exec(statement.order_by(col(Stamp.run_id), position_in_run())))


def label_sheet(
    session: Session,
    lot: Lot,
    product: Product,
    base_url: str,
    grid: str,
    filename: str,
    run_id: int | None = None,
) -> Response:
    """The lot's (or one run's) published stamps as an A4 label sheet, streamed by page.

    :param grid: one of :data:`stamps.render.layout.GRIDS` (checked by the caller).
    :param filename: the download's name (made safe by :func:`trace.download_headers`).
    """
    serials = printed_serials(session, lot.id, run_id)  # type: ignore[arg-type]
    # Plain values only: the body streams after the request's session has closed.
    gtin, code, name = product.gtin, lot.code, product.name_vi
    labels = (Label(stamp_uri(base_url, gtin, code, s), s, name, code) for s in serials)
    body = stream_output(lambda out: render_label_sheet(labels, grid, out))
    return Response(body, mimetype="application/pdf", headers=download_headers(filename))

"""A lot's label sheet (API) prints run by run, each run in its own sheet's print order, so
label ``n`` of a run is the same stamp on either sheet and in a void by label position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import update
from sqlmodel import Session, col, select

from stamps import minting, voiding
from stamps.identity import format_serial
from stamps.models import Stamp
from tests.registry_fixtures import Farm, login
from trace.services import tokens
from trace.services.access import Actor

PdfPage = Callable[..., tuple[Image.Image, str]]


@pytest.fixture
def two_runs(session: Session, farm_a: Farm) -> dict[int, int]:
    """Run id → labels: two runs of the lot, printed on one page each."""
    runs = [minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, n, "1") for n in (7, 6)]
    # Row ids are not print order: here run 1's first label was written after run 2 (as
    # chunks of runs minted side by side may be).
    first = session.exec(
        select(Stamp).where(Stamp.run_id == runs[0].id).order_by(col(Stamp.serial))
    ).first()
    assert first is not None
    session.execute(update(Stamp).where(col(Stamp.id) == first.id).values(id=10_000))
    session.commit()
    return {run.id: run.count for run in runs}  # type: ignore[misc]


def printed(pdf: bytes, read_pdf_page: PdfPage, serials: list[str]) -> list[str]:
    """The serials on the sheet's first page, in the order the page draws them."""
    _, text = read_pdf_page(pdf, 0, dpi=50)
    where = {serial: text.find(format_serial(serial)) for serial in serials}
    assert all(at >= 0 for at in where.values()), "every label shows its serial"
    return sorted(serials, key=where.__getitem__)


def test_the_lot_sheet_prints_each_run_as_its_run_sheet_and_void_number_it(
    session: Session,
    farm_a: Farm,
    admin: Any,
    client: FlaskClient,
    two_runs: dict[int, int],
    read_pdf_page: PdfPage,
) -> None:
    issuer = Actor(user_id=admin.id, role="admin")
    secret = tokens.issue_token(session, issuer, farm_a.user.email, ["read"], None, "t").secret
    lot_sheet = client.get(
        f"/api/v1/batches/{farm_a.lot_id}/stamps.pdf",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert lot_sheet.status_code == 200
    login(client, farm_a.user.email)
    run_sheets: list[str] = []
    for run_id, count in two_runs.items():
        labels = voiding.labels_by_position(
            session, farm_a.actor, farm_a.lot_id, str(run_id), "1", str(count)
        )
        by_position = [label.serial for label in sorted(labels, key=lambda x: x.position)]
        sheet = client.get(f"/runs/{run_id}/labels.pdf")
        assert sheet.status_code == 200
        on_sheet = printed(sheet.get_data(), read_pdf_page, by_position)
        assert on_sheet == by_position  # label n of the run's sheet is void position n
        run_sheets += on_sheet
    assert printed(lot_sheet.get_data(), read_pdf_page, run_sheets) == run_sheets

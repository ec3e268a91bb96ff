"""Downloads name their file per RFC 6266: a safe ASCII fallback plus the exact UTF-8 name."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from sqlmodel import Session

from stamps import minting
from tests.registry_fixtures import Farm
from trace.downloads import content_disposition
from trace.services import lots

HOSTILE_CODE = '"x";a=b'


_PARAM = re.compile(r';\s*([^=;\s]+)=("(?:[^"\\]|\\.)*"|[^;"]*)')


def disposition(header: str) -> tuple[str, dict[str, str]]:
    """The disposition type and every parameter as a client reads it (``filename*`` decoded).

    A hand-pasted name with quotes or ``;`` in it shows up here as extra parameters.
    """
    kind, _, rest = header.partition(";")
    options: dict[str, str] = {}
    for key, value in _PARAM.findall(";" + rest):
        if key == "filename*":
            assert value.startswith("UTF-8''"), value
            value = unquote(value.removeprefix("UTF-8''"))
        elif value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        options[key] = value
    assert _PARAM.sub("", ";" + rest) == "", header
    return kind.strip(), options


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ('stamps-"x";a=b-3x8.pdf', "stamps-_x_a_b-3x8.pdf"),
        ("Đường Bình Điền.csv", "Duong_Binh_Dien.csv"),
        ("a\r\nSet-Cookie: x=1.pdf", "a-Set-Cookie_x_1.pdf"),
    ],
)
def test_a_hostile_name_keeps_the_header_to_one_file_name(name: str, fallback: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header and "\n" not in header
    kind, options = disposition(header)
    assert kind == "attachment" and set(options) == {"filename", "filename*"}
    assert options["filename"] == fallback
    assert options["filename*"] == name.replace("\r\n", "-")


@pytest.fixture
def hostile_lot(session: Session, farm_a: Farm) -> int:
    """A lot of farm A coded ``"x";a=b`` (valid GS1 AI 10 text), with stamps."""
    new = lots.NewLot(
        farm_a.product_id, HOSTILE_CODE, date.today() - timedelta(days=1), "100", "kg"
    )
    lot = lots.create_lot(session, farm_a.actor, new, date.today())
    minting.mint_stamps(session, farm_a.actor, lot.id, 3, "1")  # type: ignore[arg-type]
    return lot.id  # type: ignore[return-value]


def test_label_sheet_of_a_lot_with_quotes_in_its_code_names_one_pdf(
    farmer_a_api: Any, hostile_lot: int
) -> None:
    response = farmer_a_api.get(f"/api/v1/batches/{hostile_lot}/stamps.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    kind, options = disposition(response.headers["Content-Disposition"])
    assert kind == "attachment" and set(options) == {"filename", "filename*"}
    assert options["filename*"] == f"stamps-{HOSTILE_CODE}-3x8.pdf"
    assert options["filename"] == "stamps-_x_a_b-3x8.pdf"


def test_exports_carry_both_names(inspector_api: Any, farm_a: Farm) -> None:
    response = inspector_api.get("/api/v1/exports/fsma204.csv", query_string={"lot_code": "TL-1"})
    kind, options = disposition(response.headers["Content-Disposition"])
    assert kind == "attachment" and options["filename"] == options["filename*"]
    assert options["filename"].startswith("fsma204-") and options["filename"].endswith(".csv")

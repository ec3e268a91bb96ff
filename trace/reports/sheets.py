"""Writing FSMA 204 rows as a sortable CSV or XLSX workbook, with the file's sha256."""

from __future__ import annotations

import io
from typing import Any

from trace.reports.cells import SafeDictWriter, xlsx_append
from trace.reports.fsma204 import kde_columns, sheet_headers

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """One sheet with every CTE's columns; UTF-8 with a BOM so spreadsheets read Vietnamese.

    Text that a spreadsheet would read as a formula is neutralised (see :mod:`trace.reports.cells`).
    """
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=sheet_headers(), restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An "All CTEs" sheet, then one sheet per CTE (as FDA's template has a tab per CTE).

    Every sheet has a frozen header row and an auto-filter, so it sorts and filters; text
    is written as strings, never formulas (see :mod:`trace.reports.cells`).
    """
    from openpyxl import Workbook

    book = Workbook()
    _fill(book.active, "All CTEs", sheet_headers(), rows)
    for cte in kde_columns():
        _fill(
            book.create_sheet(),
            cte,
            sheet_headers(cte),
            [r for r in rows if r["Critical Tracking Event"] == cte],
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet: Any, title: str, headers: list[str], rows: list[dict[str, Any]]) -> None:
    sheet.title = title[:31]
    xlsx_append(sheet, headers)
    for row in rows:
        xlsx_append(sheet, [row.get(h, "") for h in headers])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions

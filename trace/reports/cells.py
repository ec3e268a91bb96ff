"""Spreadsheet cells a stored value cannot turn into a formula (OWASP's CSV-injection rule).

Every CSV and XLSX file the service writes goes through this module: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is one a spreadsheet
may evaluate (``=HYPERLINK(...)`` leaks the sheet, ``=cmd|...`` runs a program), so

* in CSV such text gets a leading ``'`` (the only marker a CSV file can carry);
* in XLSX every text cell is written as a string, never a formula, and such text is
  flagged with the cell's ``quotePrefix`` style (what Excel sets when a user types ``'``),
  so editing it later keeps it text; the value itself is kept as stored.

Numbers stay numbers: ``int``, ``float`` and ``Decimal`` values, and text that is
nothing but a plain number such as ``-5`` or ``+1.5e3``, are written unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

#: A text cell starting with one of these may be read as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Characters XML 1.0 cannot hold; openpyxl refuses a whole workbook that has one.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (a plain number cannot)."""
    return text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text)


def safe_text(text: str) -> str:
    """``text`` as a CSV cell: prefixed with ``'`` when it could be read as a formula."""
    return "'" + text if is_formula_like(text) else text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def csv_cell(value: Any) -> Any:
    """One value ready for :mod:`csv`: empty for None, numbers as they are, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if _is_number(value):
        return value
    return safe_text(str(value))


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row of :func:`csv_cell` values."""
    return [csv_cell(value) for value in values]


def csv_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A :class:`csv.DictWriter` record of :func:`csv_cell` values."""
    return {key: csv_cell(value) for key, value in record.items()}


class SafeCsvWriter:
    """A :func:`csv.writer` whose every row goes through :func:`csv_row`."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(csv_row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """A :class:`csv.DictWriter` whose every record goes through :func:`csv_record`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(csv_record(rowdict))

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet: text as strings (never formulas), numbers as numbers.

    Text a spreadsheet would read as a formula is flagged ``quotePrefix``; characters XML
    cannot hold are dropped (openpyxl would refuse the whole workbook).
    """
    sheet.append([_xlsx_value(value) for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if is_formula_like(cell.value):
                cell.quotePrefix = True


def _xlsx_value(value: Any) -> Any:
    if value is None or _is_number(value):
        return value
    return _NOT_XML.sub("", str(value))

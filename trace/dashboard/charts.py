"""What a dashboard chart is: its numbers (``ChartData``), how it is drawn, where they come from.

Packages other than ``trace`` contribute charts through the registry in ``app.extensions``
(see ``trace.dashboard.register_charts``): ``trace`` must not import them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from trace.reports.cells import SafeCsvWriter

if TYPE_CHECKING:
    from flask_babel import LazyString
    from sqlmodel import Session

    from trace.dashboard.filters import Filters
    from trace.dashboard.rollup import RollupSource

#: Months are counted in Vietnam's time (UTC+7 all year, no daylight saving).
LOCAL_OFFSET_HOURS = 7


class local_month(FunctionElement[str]):  # noqa: N801 - a SQL function, named like one
    """``YYYY-MM`` of a UTC timestamp column in Vietnam's time, on SQLite and PostgreSQL."""

    type = String()
    inherit_cache = True


@compiles(local_month, "sqlite")
def _local_month_sqlite(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m', {column}, '+{LOCAL_OFFSET_HOURS} hours')"


@compiles(local_month, "postgresql")
def _local_month_postgresql(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"


@dataclass
class ChartData:
    """The numbers behind one chart: one value per (x, series), in a fixed order.

    :param x_name: the CSV header of the x column (``month``, ``district``, ``state``).
    :param x_keys: the x values in drawing order.
    :param series: (key, label) of each series; keys are the CSV headers.
    """

    x_name: str
    x_keys: list[str]
    series: list[tuple[str, Any]]
    values: dict[str, list[int]] = field(default_factory=dict)
    x_labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, _label in self.series:
            self.values.setdefault(key, [0] * len(self.x_keys))

    def add(self, x: str, series: str, amount: int) -> None:
        """Add ``amount`` to the cell (x, series); unknown x values are ignored."""
        if x in self.x_keys:
            self.values[series][self.x_keys.index(x)] += int(amount or 0)

    def fill(self, rows: Iterable[Sequence[Any]], series: str | None = None) -> ChartData:
        """Add aggregate rows: (x, series, n), or (x, n) into ``series``."""
        for row in rows:
            if series is None:
                self.add(str(row[0]), str(row[1]), row[2])
            else:
                self.add(str(row[0]), series, row[1])
        return self

    def label(self, x: str) -> str:
        return str(self.x_labels.get(x, x))

    def total(self) -> int:
        return sum(sum(column) for column in self.values.values())

    def to_csv(self) -> str:
        """The numbers as CSV: one row per x value, one column per series."""
        out = io.StringIO()
        writer = SafeCsvWriter(out, lineterminator="\r\n")
        writer.writerow([self.x_name, *(key for key, _ in self.series)])
        for index, x in enumerate(self.x_keys):
            writer.writerow([x, *(self.values[key][index] for key, _ in self.series)])
        return out.getvalue()


@dataclass(frozen=True)
class Chart:
    """One chart on the dashboard.

    :param key: its identifier in URLs and CSV file names.
    :param kind: how it is drawn: ``lines``, ``bars`` (stacked) or ``tiles`` (district map).
    :param query: aggregate queries only: builds the numbers for the filters.
    :param position: order on the page (smaller first).
    :param note: a sentence under the chart saying what exactly is counted.
    :param rollups: the logs ``query`` reads through rollups (kept current by a job).
    """

    key: str
    title: LazyString | str
    kind: str
    query: Callable[[Session, Filters], ChartData]
    position: int
    note: LazyString | str = ""
    uses_period: bool = True
    rollups: tuple[RollupSource, ...] = ()

"""FSMA 204 records: one row per critical tracking event with its key data elements."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from trace.epcis import FSMA_CTE
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Event, Lot, Plot, Producer, Product, Role
from trace.services.access import Actor
from trace.services.captured_events import CapturedEntry
from trace.services.epcis_events import hash_id_of
from trace.services.events import current_events, local_time, timeline

COLUMNS_FILE = Path(__file__).with_name("fsma204_kde_columns.csv")
LEAD = ("Critical Tracking Event", "Traceability Lot Code", "Event Time")
MAX_LOTS = 10_000


@dataclass(frozen=True)
class ExportFilter:
    """Which lots' events to export: a lot (by id or code), harvest dates, or both."""

    lot_id: int | None = None
    lot_code: str | None = None
    harvested_from: date | None = None
    harvested_to: date | None = None


@cache
def kde_columns() -> dict[str, list[str]]:
    """Each CTE's KDE column headers, in the regulation's order."""
    columns: dict[str, list[str]] = {}
    with COLUMNS_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            columns.setdefault(row["cte"], []).append(row["column_header"])
    return columns


def sheet_headers(cte: str | None = None) -> list[str]:
    """The lead columns, then one CTE's KDEs (or every CTE's, each header once)."""
    ctes = [cte] if cte else list(kde_columns())
    headers = list(LEAD)
    for name in ctes:
        headers += [h for h in kde_columns()[name] if h not in headers]
    return headers


def export_rows(session: Session, actor: Actor, wanted: ExportFilter) -> list[dict[str, Any]]:
    """The CTE rows of the selected lots, sorted by event time then lot code.

    :raises ValidationError: no filter at all (an export names a lot or a date range).
    """
    rows: list[dict[str, Any]] = []
    for lot, product, producer, plot in _lots(session, actor, wanted):
        rows += lot_rows(session, lot, product, producer, plot)
    return sorted(rows, key=lambda r: (r["Event Time"], r["Traceability Lot Code"]))


def _lots(session: Session, actor: Actor, wanted: ExportFilter) -> list[tuple[Any, ...]]:
    if not any(v is not None for v in wanted.__dict__.values()):
        raise ValidationError({"lot_id": _l("Name a lot (id or code) or a harvest date range.")})
    statement = (
        select(Lot, Product, Producer, Plot)
        .join(Product, col(Product.id) == Lot.product_id)
        .join(Producer, col(Producer.id) == Lot.producer_id)
        .outerjoin(Plot, col(Plot.id) == Lot.plot_id)
    )
    if actor.role == Role.FARMER:
        statement = statement.where(Lot.producer_id == (actor.producer_id or -1))
    for value, condition in (
        (wanted.lot_id, lambda v: Lot.id == v),
        (wanted.lot_code, lambda v: Lot.code == v),
        (wanted.harvested_from, lambda v: col(Lot.harvest_date) >= v),
        (wanted.harvested_to, lambda v: col(Lot.harvest_date) <= v),
    ):
        if value is not None:
            statement = statement.where(condition(value))
    return [tuple(row) for row in session.exec(statement.order_by(col(Lot.id)).limit(MAX_LOTS))]


def lot_rows(
    session: Session, lot: Lot, product: Product, producer: Producer, plot: Plot | None
) -> list[dict[str, Any]]:
    """One row per CTE event of a lot (a transformation: one row per input lot).

    EPCIS events captured for the lot count as the CTE their bizStep names (a receiving
    event as receiving), with their own hash ID as the reference document number.
    """
    events = current_events(timeline(session, lot.id))  # type: ignore[arg-type]
    facts = _LotFacts(lot, product, producer, plot, events)
    rows = []
    for event in events:
        cte = FSMA_CTE.get(event.kind)
        if cte is None:
            continue
        base = facts.row(cte, event, _hash_id(event, lot, product, producer, plot))
        inputs = event.details.get("input_lots") or [None]
        rows += (
            [base | _input(session, ref) for ref in inputs] if cte == "transformation" else [base]
        )
    return rows


def _hash_id(
    event: Event | CapturedEntry, lot: Lot, product: Product, producer: Producer, plot: Plot | None
) -> str:
    if isinstance(event, CapturedEntry):
        return event.hash_id
    return hash_id_of(event, lot, product, producer, plot)


def _input(session: Session, ref: dict[str, Any] | None) -> dict[str, Any]:
    if ref is None:
        return {}
    source = session.get(Lot, ref.get("id")) if ref.get("id") else None
    product = session.get(Product, source.product_id) if source else None
    return {
        "Input Traceability Lot Code": tlc(str(ref.get("gtin", "")), str(ref.get("code", ""))),
        "Input Product Description": describe(product) if product else "",
        "Input Quantity Used": _plain(source.quantity) if source else "",
        "Input Unit of Measure": source.unit if source else "",
    }


def tlc(gtin: str, code: str) -> str:
    """A traceability lot code as a GS1 element string: ``(01)GTIN(10)LOT``."""
    return f"(01){gtin}(10){code}"


def describe(product: Product) -> str:
    """A product description: English name, Vietnamese name and GTIN."""
    return f"{product.name_en} ({product.name_vi}), GTIN {product.gtin}"


def location(producer: Producer) -> str:
    """A location description (21 CFR 1.1310): business name, phone, address."""
    parts = [producer.name, producer.phone, producer.address_line, producer.commune]
    parts += [producer.district, producer.province, "Vietnam"]
    text = ", ".join(p for p in parts if p)
    return f"{text} (GLN {producer.gln})" if producer.gln else text


def _plain(number: Any) -> Decimal:
    """A quantity as a number (a numeric cell in XLSX, written without exponent in CSV)."""
    return Decimal(str(number)).normalize()


class _LotFacts:
    """What every row of one lot shares, and how each KDE header is filled."""

    def __init__(
        self,
        lot: Lot,
        product: Product,
        producer: Producer,
        plot: Plot | None,
        events: list[Event | CapturedEntry],
    ) -> None:
        self.lot, self.product, self.producer, self.plot = lot, product, producer, plot
        self.variety = next(
            (e.details.get("variety", "") for e in events if e.kind == "planting"), ""
        )
        shipped = [e for e in events if e.kind == "shipping"]
        self.first_recipient = shipped[0].details.get("destination", "") if shipped else ""

    def row(self, cte: str, event: Event | CapturedEntry, hash_id: str) -> dict[str, Any]:
        when = local_time(event)
        values = {"Critical Tracking Event": cte, "Event Time": when.isoformat()}
        values["Traceability Lot Code"] = tlc(self.product.gtin, self.lot.code)
        fill = self._fillers(event, when, hash_id)
        for header in kde_columns()[cte]:
            if header in fill and header not in values:
                values[header] = fill[header]()
        return values

    def _fillers(
        self, event: Event | CapturedEntry, when: datetime, hash_id: str
    ) -> dict[str, Callable[[], Any]]:
        lot, product, producer = self.lot, self.product, self.producer
        day = when.date().isoformat()
        captured = isinstance(event, CapturedEntry)
        # Another party's event happened at their place, in the quantity they name.
        here = lambda: event.place or ("" if captured else location(producer))  # noqa: E731
        moved = event.details if captured else {"quantity": lot.quantity, "unit": lot.unit}
        return {
            "Commodity": lambda: product.name_en,
            "Commodity Received": lambda: product.name_en,
            "Variety": lambda: self.variety,
            "Variety Received": lambda: self.variety,
            "Quantity": lambda: _plain(moved["quantity"]) if "quantity" in moved else "",
            "Unit of Measure": lambda: moved.get("unit", ""),
            "Quantity Packed": lambda: _plain(lot.quantity),
            "Unit of Measure Packed": lambda: lot.unit,
            "Output Quantity": lambda: _plain(lot.quantity),
            "Output Unit of Measure": lambda: lot.unit,
            "Product Description": lambda: describe(product),
            "Output Product Description": lambda: describe(product),
            "Harvest Farm Location Description": lambda: location(producer),
            "Field or Growing Area Name": lambda: self.plot.name if self.plot else "",
            "Harvest Date": lambda: lot.harvest_date.isoformat(),
            "Harvester Business Name": lambda: producer.name,
            "Harvester Phone Number": lambda: producer.phone,
            "Immediate Subsequent Recipient Location Description": lambda: event.details.get(
                "destination", self.first_recipient
            ),
            "Cooling Location Description": here,
            "Cooling Date": lambda: day,
            "Initial Packing Date": lambda: day,
            "Traceability Lot Code Source Location Description": lambda: location(producer),
            "New Traceability Lot Code": lambda: tlc(product.gtin, lot.code),
            "Transformation Completion Date": lambda: day,
            "Ship-From Location Description": here,
            "Ship Date": lambda: day,
            "Immediate Previous Source Location Description": lambda: event.details.get(
                "source", ""
            ),
            "Receiving Location Description": here,
            "Receive Date": lambda: day,
            "Reference Document Type": lambda: "EPCIS 2.0 event (CBV 2.0 event hash ID)",
            "Reference Document Number": lambda: hash_id,
        }

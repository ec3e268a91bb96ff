"""Lots (batches) and their append-only supply-chain events."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class EventKind(enum.StrEnum):
    PLANTING = "planting"
    INPUT_APPLICATION = "input_application"
    HARVEST = "harvest"
    COOLING = "cooling"
    INITIAL_PACKING = "initial_packing"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    TRANSFORMATION = "transformation"
    INSPECTION = "inspection"


class Lot(SQLModel, table=True):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("product_id", "code", name="uq_lots_product_code"),)

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    plot_id: int | None = Field(default=None, foreign_key="plots.id")
    code: str = Field(max_length=20)
    harvest_date: date
    quantity: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))
    unit: str = Field(max_length=16)
    stamp_root: str | None = Field(default=None, max_length=64)  # Merkle root over its stamps
    stamp_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    recalled_at: datetime | None = Field(default=None, index=True)  # dashboard: recent recalls
    recall_reason: str | None = Field(default=None, max_length=500)
    # Set when the lot was recalled because a lot it was made from was (None: recalled itself).
    recall_origin_lot_id: int | None = Field(default=None, foreign_key="lots.id")
    # An integrity check found the data changed (indexed: the dashboard counts recent ones).
    tampered_at: datetime | None = Field(default=None, index=True)
    # Goes up whenever the lot's story (events, EPCIS events, documents, anchoring) changes:
    # kept by database triggers (migration 0022), never written here; read it with SQL.
    story_version: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    created_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """One supply-chain event; never updated, corrected by a superseding event."""

    __tablename__ = "events"
    # The dashboard counts recent events of one kind (inspections) without reading the rest.
    __table_args__ = (Index("ix_events_kind_occurred_at", "kind", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lots.id", index=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    kind: str = Field(max_length=24)
    occurred_at: datetime = Field(index=True)
    tz_offset_minutes: int
    place: str = Field(max_length=200)
    recorded_by_id: int = Field(foreign_key="users.id")
    recorded_at: datetime = Field(default_factory=utcnow)
    supersedes_id: int | None = Field(default=None, foreign_key="events.id", index=True)
    note: str = Field(default="", max_length=1000)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class LotInput(SQLModel, table=True):
    """An edge of the lot graph: ``input_lot`` went into ``output_lot``."""

    __tablename__ = "lot_inputs"

    output_lot_id: int = Field(foreign_key="lots.id", primary_key=True)
    input_lot_id: int = Field(foreign_key="lots.id", primary_key=True, index=True)
    event_id: int = Field(foreign_key="events.id")
    # How much of the input lot went in, in the input's unit (None: recorded before 0014).
    quantity: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 3)))

"""EPCIS 2.0 events captured through the API, kept verbatim under their event hash ID."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class CapturedEvent(SQLModel, table=True):
    """One captured event; ``hash_id`` (CBV 2.0 event hash ID) makes capture idempotent."""

    __tablename__ = "epcis_events"

    id: int | None = Field(default=None, primary_key=True)
    hash_id: str = Field(max_length=120, unique=True)
    event_type: str = Field(max_length=24)
    event_time: datetime = Field(index=True)  # UTC
    biz_step: str | None = Field(default=None, max_length=200)
    disposition: str | None = Field(default=None, max_length=200)
    biz_location: str | None = Field(default=None, max_length=200)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    captured_by_id: int = Field(foreign_key="users.id")
    captured_at: datetime = Field(default_factory=utcnow)


class CapturedIdentifier(SQLModel, table=True):
    """An identifier a captured event names: an instance EPC, a parent, or a class (lot)."""

    __tablename__ = "epcis_event_identifiers"

    event_id: int = Field(foreign_key="epcis_events.id", primary_key=True)
    identifier: str = Field(max_length=250, primary_key=True, index=True)
    role: str = Field(max_length=8, primary_key=True)  # "epc", "parent" or "class"


class CapturedEventLot(SQLModel, table=True):
    """A captured event that names one of our lots by its Digital Link class URI."""

    __tablename__ = "epcis_event_lots"

    event_id: int = Field(foreign_key="epcis_events.id", primary_key=True)
    lot_id: int = Field(foreign_key="lots.id", primary_key=True, index=True)

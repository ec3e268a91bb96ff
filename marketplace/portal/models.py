"""The portal tables: who opted in, each object we push, and every exchange with the portal."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class RecordKind(enum.StrEnum):
    """What a record pushes, in the order the portal needs them (parents first)."""

    ORGANISATION = "organisation"
    PRODUCT = "product"
    GROWING_AREA = "growing_area"
    PRODUCTION_ORDER = "production_order"
    STAGE_EVENT = "stage_event"
    RECALL = "recall"


KIND_ORDER = {kind: rank for rank, kind in enumerate(RecordKind)}


class RecordState(enum.StrEnum):
    PENDING = "pending"  # not sent, or changed since it was sent
    SENT = "sent"  # the portal holds what we last sent
    REJECTED = "rejected"  # the portal refused it (validation): fix the data
    BLOCKED = "blocked"  # waits for a parent the portal refused
    FAILED = "failed"  # gave up after retries; the next push tries again


class PortalEnrolment(SQLModel, table=True):
    """A producer's choice to share with the national portal, and its organisation there."""

    __tablename__ = "portal_enrolments"

    producer_id: int = Field(foreign_key="producers.id", primary_key=True)
    enabled: bool = True
    changed_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PortalRecord(SQLModel, table=True):
    """One of our objects on the portal: its portal id and the digest of what we sent."""

    __tablename__ = "portal_records"
    __table_args__ = (UniqueConstraint("kind", "local_id", name="uq_portal_records_kind_local"),)

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    kind: str = Field(max_length=20)
    local_id: int
    lot_id: int | None = Field(default=None, foreign_key="lots.id", index=True)
    remote_id: str | None = Field(default=None, max_length=64)
    sent_hash: str | None = Field(default=None, max_length=64)
    state: str = Field(default=RecordState.PENDING, max_length=12, index=True)
    attempts: int = 0
    #: Leases taken while the record had no portal id: from the second on, an earlier try
    #: may have created it, so the push looks it up by ``source_ref`` first.
    create_tries: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    last_synced_at: datetime | None = None
    leased_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PortalPush(SQLModel, table=True):
    """One request to the portal and its answer: the admin's history of what was sent."""

    __tablename__ = "portal_pushes"

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    record_id: int | None = Field(default=None, foreign_key="portal_records.id", index=True)
    kind: str = Field(max_length=20)
    method: str = Field(max_length=8)
    path: str = Field(max_length=200)
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status_code: int | None = None  # None: no answer (timeout, dropped connection)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(max_length=12)  # ok, rejected, error
    sent_at: datetime = Field(default_factory=utcnow, index=True)

"""Stamp tables: runs of minted stamps, each stamp's state, the scan log and flags."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKeyConstraint,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class StampStatus(enum.StrEnum):
    ISSUED = "issued"
    ACTIVE = "active"
    VOID = "void"
    RECALLED = "recalled"


class FlagRule(enum.StrEnum):
    SCAN_THRESHOLD = "scan_threshold"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    VOID_SCAN = "void_scan"


class StampRun(SQLModel, table=True):
    """One minting request: ``count`` stamps for a lot, packed ``pack_size`` units each."""

    __tablename__ = "stamp_runs"
    # The target of the stamps' composite foreign key (a stamp's lot is its run's lot).
    __table_args__ = (UniqueConstraint("lot_id", "id", name="uq_stamp_runs_lot_id_id"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lots.id", index=True)
    count: int
    pack_size: Decimal = Field(sa_column=Column(Numeric(14, 3), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    activated_at: datetime | None = None
    # Set while the run's stamps are being written, chunk by chunk: until it is cleared
    # (one small UPDATE) they are not scannable; a run whose lease ran out was abandoned.
    pending_until: datetime | None = None


class Stamp(SQLModel, table=True):
    """One serialized e-stamp; written in bulk, so every default is a server default.

    One composite index serves both "a lot's stamps" and "a run's stamps" (a run belongs
    to one lot, so run queries name the lot too): each index costs ~20% of insert time.
    """

    __tablename__ = "stamps"
    __table_args__ = (
        Index("ix_stamps_lot_id_run_id", "lot_id", "run_id"),
        # One composite key instead of one per column: PostgreSQL checks a foreign key row
        # by row, and two checks per stamp made bulk minting ~1.6x slower (bench/).
        ForeignKeyConstraint(
            ["lot_id", "run_id"],
            ["stamp_runs.lot_id", "stamp_runs.id"],
            name="fk_stamps_run_of_lot",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=20, unique=True)
    lot_id: int
    run_id: int
    status: str = Field(
        max_length=10, sa_column_kwargs={"server_default": text("'issued'")}, default="issued"
    )
    flagged: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    scan_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    first_scan_at: datetime | None = None
    first_scan_province: str | None = Field(default=None, max_length=100)


class Scan(SQLModel, table=True):
    """One consumer scan: a client's first view of a stamp in the scan window.

    The client address is kept only as a salted hash. Views by the same client within
    the window (reloads, language switches, the redirect after sharing a province) write
    nothing: the composite index finds the client's last scan of the stamp in one look-up
    and also serves every "scans of a stamp" query.
    """

    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_stamp_client_time", "stamp_id", "client_hash", "scanned_at"),
        # SQLite: ids reserved by raising sqlite_sequence are never taken by another insert
        # (the hot path's batched scans, stamps.hotpath.scan_buffer; migration 0021).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    stamp_id: int = Field(foreign_key="stamps.id")
    scanned_at: datetime = Field(default_factory=utcnow, index=True)
    client_hash: str = Field(max_length=64)
    user_agent: str = Field(default="", max_length=200)
    province: str | None = Field(default=None, max_length=100, index=True)
    geohash: str | None = Field(default=None, max_length=5)


class FlagReview(enum.StrEnum):
    """Where an inspector's review of a flag stands; a dismissed flag no longer counts."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class StampFlag(SQLModel, table=True):
    """Why a stamp is SUSPICIOUS: the rule that fired, what it saw, and its review."""

    __tablename__ = "stamp_flags"

    id: int | None = Field(default=None, primary_key=True)
    stamp_id: int = Field(foreign_key="stamps.id", index=True)
    rule: str = Field(max_length=24, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    review: str = Field(
        default="open",
        max_length=10,
        index=True,
        sa_column_kwargs={"server_default": text("'open'")},
    )
    reviewed_by_id: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = None
    review_note: str = Field(
        default="", max_length=1000, sa_column_kwargs={"server_default": text("''")}
    )


class StampVoidAction(enum.StrEnum):
    VOID = "void"
    UNDO = "undo"


class StampVoid(SQLModel, table=True):
    """Audit log of voided labels: one row per void and one per undo (``undoes_id``).

    ``stamps`` lists each stamp touched as ``{"stamp_id", "serial", "run_id", "position",
    "status"}``: for a void, the status it had before; for an undo, the one it got back.
    """

    __tablename__ = "stamp_voids"

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lots.id", index=True)
    action: str = Field(max_length=8)
    # An undo names its void; unique, so a void is undone at most once.
    undoes_id: int | None = Field(default=None, foreign_key="stamp_voids.id", unique=True)
    stamps: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    actor_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class CloneThreshold(SQLModel, table=True):
    """Clone-rule limits an admin set: for one product, or (``product_id`` empty) the
    province's default. An empty limit falls back to the default, then to the built-in one.
    """

    __tablename__ = "clone_thresholds"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int | None = Field(default=None, foreign_key="products.id", unique=True)
    max_scans: int | None = None
    max_travel_kmh: float | None = None
    min_travel_km: float | None = None
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ScanPlace(SQLModel, table=True):
    """Where a scan happened, for scans whose consumer shared a location (append-only).

    ``district`` is a dashboard district key, ``elsewhere`` (outside those districts) or
    ``unknown`` (only a province that contains them). The dashboard counts scans by it.
    """

    __tablename__ = "scan_places"

    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scans.id", unique=True)
    lot_id: int = Field(foreign_key="lots.id")
    scanned_at: datetime
    district: str = Field(max_length=24)


class VerifiedStory(SQLModel, table=True):
    """A lot's story as read when its integrity was last found intact, shared by workers.

    One row per lot: the story version and day it was read for (``stamps.story_share``),
    the story as JSON and an HMAC of all of it under the app's secret, so a row edited in
    the database is read afresh (and re-checked) instead of shown.
    """

    __tablename__ = "verified_lot_stories"

    lot_id: int = Field(
        foreign_key="lots.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    producer_id: int
    version: str = Field(max_length=400)
    day: date
    story: str = Field(sa_column=Column(Text, nullable=False))
    mac: str = Field(max_length=64)
    checked_at: datetime = Field(default_factory=utcnow)

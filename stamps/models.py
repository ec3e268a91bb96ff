"""Stamp tables: runs of minted stamps, each stamp's state, the scan log and flags."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKeyConstraint, Index, Numeric, UniqueConstraint, text
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
    """One consumer scan; the client address is kept only as a salted hash."""

    __tablename__ = "scans"

    id: int | None = Field(default=None, primary_key=True)
    stamp_id: int = Field(foreign_key="stamps.id", index=True)
    scanned_at: datetime = Field(default_factory=utcnow, index=True)
    client_hash: str = Field(max_length=64)
    user_agent: str = Field(default="", max_length=200)
    province: str | None = Field(default=None, max_length=100, index=True)
    geohash: str | None = Field(default=None, max_length=5)


class StampFlag(SQLModel, table=True):
    """Why a stamp is SUSPICIOUS: the rule that fired and what it saw."""

    __tablename__ = "stamp_flags"

    id: int | None = Field(default=None, primary_key=True)
    stamp_id: int = Field(foreign_key="stamps.id", index=True)
    rule: str = Field(max_length=24, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


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

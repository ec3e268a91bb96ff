"""Versioned lot documents and the anchoring rounds that put their hashes on chain."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class RoundStatus(enum.StrEnum):
    PREPARED = "prepared"  # root computed and recorded; not yet known to be on chain
    CONFIRMED = "confirmed"
    FAILED = "failed"


class LotDocument(SQLModel, table=True):
    """One version of a lot's canonical document; its hash is the lot's leaf."""

    __tablename__ = "lot_documents"
    __table_args__ = (UniqueConstraint("lot_id", "version", name="uq_lot_documents_version"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lots.id", index=True)
    version: int
    canonical_json: str = Field(sa_column=Column(Text, nullable=False))
    doc_hash: str = Field(max_length=64)
    stamp_root: str | None = Field(default=None, max_length=64)
    round_id: int | None = Field(default=None, foreign_key="anchor_rounds.id", index=True)
    lot_proof: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class AnchorRound(SQLModel, table=True):
    """One transaction anchoring the Merkle root over a set of lot document hashes."""

    __tablename__ = "anchor_rounds"

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(max_length=64, unique=True)
    leaf_count: int
    status: str = Field(default=RoundStatus.PREPARED, max_length=12, index=True)
    chain_id: int | None = Field(default=None, sa_type=BigInteger)  # chain ids exceed int32
    contract_address: str | None = Field(default=None, max_length=42)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    block_time: datetime | None = None
    gas_used: int | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None


class Job(SQLModel, table=True):
    """Transactional outbox: work written in the same transaction as the change behind it."""

    __tablename__ = "jobs"
    # The claim reads queued jobs in (run_after, id) order straight from this index.
    __table_args__ = (Index("ix_jobs_status_run_after_id", "status", "run_after", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    status: str = Field(default="queued", max_length=12)
    attempts: int = 0
    run_after: datetime = Field(default_factory=utcnow, index=True)
    locked_by: str | None = Field(default=None, max_length=80)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class WorkerHeartbeat(SQLModel, table=True):
    """When each worker last looked for work (``/healthz`` reads it)."""

    __tablename__ = "worker_heartbeats"

    name: str = Field(primary_key=True, max_length=120)
    last_seen: datetime = Field(default_factory=utcnow)

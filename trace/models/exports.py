"""Manifests of the files the registry exported (FSMA 204 sheets, EPCIS query documents):
their sha256, and the round that anchored the manifest's hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class ExportManifest(SQLModel, table=True):
    """What was exported, for whom, and the digest of the exact bytes handed out.

    ``canonical_json`` is the manifest document whose keccak hash (``manifest_hash``) is a
    leaf of an anchoring round, so the file can later be proven to be what we handed out.
    """

    __tablename__ = "export_manifests"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # e.g. "fsma204.csv", "epcis.query"
    parameters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    rows: int
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    canonical_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    manifest_hash: str | None = Field(default=None, max_length=64)
    round_id: int | None = Field(default=None, foreign_key="anchor_rounds.id", index=True)
    round_proof: list[str] | None = Field(default=None, sa_column=Column(JSON))

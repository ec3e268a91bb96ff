"""Manifests of the files the registry exported (FSMA 204 sheets), with their sha256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class ExportManifest(SQLModel, table=True):
    """What was exported, for whom, and the digest of the exact bytes handed out."""

    __tablename__ = "export_manifests"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # e.g. "fsma204.csv"
    parameters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    rows: int
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)

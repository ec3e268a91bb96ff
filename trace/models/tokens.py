"""API bearer tokens: stored only as a hash, scoped, expiring, revocable."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class Scope(enum.StrEnum):
    READ = "read"
    RECALL = "recall"
    CAPTURE = "capture"
    MINT = "mint"
    ADMIN = "admin"  # manage webhook subscriptions (administrators only)


class ApiToken(SQLModel, table=True):
    """One bearer token of a user; a farmer's token only ever sees their producer."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_by_id: int = Field(foreign_key="users.id")
    label: str = Field(default="", max_length=80)
    scopes: str = Field(max_length=60)  # comma-separated Scope values
    token_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the token
    prefix: str = Field(max_length=12)  # shown in lists so people can tell tokens apart
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

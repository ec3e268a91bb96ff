"""User accounts and their roles."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class Role(enum.StrEnum):
    FARMER = "farmer"
    INSPECTOR = "inspector"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    full_name: str = Field(default="", max_length=120)
    role: str = Field(max_length=16)
    producer_id: int | None = Field(default=None, foreign_key="producers.id", index=True)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: Part of every session id: raising it (logout, password change) revokes old sessions.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session id: the user and the session version it was issued for."""
        return f"{self.id}.{self.session_version}"

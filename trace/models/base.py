"""Shared column helpers for the registry tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (timestamp columns store aware UTC times)."""
    return datetime.now(UTC)


class _Row(Protocol):
    id: int | None


def stored_id(row: _Row) -> int:
    """The id of a row that is in the database (read, or added and flushed).

    SQLModel types every ``id`` as optional because a new object has none until it is
    flushed; this says, and checks, that ``row`` is past that point.
    """
    assert row.id is not None, f"{type(row).__name__} has no id: it was never flushed"
    return row.id

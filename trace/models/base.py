"""Shared column helpers for the registry tables."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (timestamp columns store aware UTC times)."""
    return datetime.now(UTC)

"""Errors of the stamps package (mapped to HTTP with the registry's errors)."""

from __future__ import annotations

from trace.errors import TraceError


class StampError(TraceError):
    """Base of every error the stamps package raises on purpose."""

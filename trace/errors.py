"""Domain errors of the registry; mapped to HTTP in one place (trace/web/errors.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TraceError(Exception):
    """Base of every error the registry raises on purpose."""

    status = 400


class NotFound(TraceError):
    """The object does not exist, or the caller may not know that it does."""

    status = 404


class Forbidden(TraceError):
    """The caller is known but may not do this."""

    status = 403


class Conflict(TraceError):
    """The request contradicts the current state (e.g. a producer awaiting approval)."""

    status = 409


class ValidationError(TraceError):
    """Input was rejected; ``errors`` maps each field to a message in the user's language."""

    status = 422

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

"""The marketplace package's errors: one base, and the kinds the sync worker tells apart."""

from __future__ import annotations

from trace.errors import TraceError


class MarketplaceError(TraceError):
    """Base of every error the marketplace package raises on purpose (mapped with the
    registry's errors: HTML pages for forms, problem+json for the API)."""

    status = 400


class TransientError(MarketplaceError):
    """The marketplace may succeed if asked again later (5xx, timeout, dropped connection).

    ``ambiguous`` is true when the request may have been applied anyway (a timeout or a
    dropped connection after sending): the caller must look before it writes again.
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class RateLimited(TransientError):
    """The marketplace answered 429; ``retry_after`` is how long it asked us to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(MarketplaceError):
    """The marketplace refused our credentials or signature."""

    status = 502


class RemoteRejected(MarketplaceError):
    """The marketplace rejected the request itself (validation); retrying will not help."""

    status = 422


class RemoteNotFound(MarketplaceError):
    """The listing no longer exists on the marketplace."""

    status = 404

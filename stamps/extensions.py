"""Typed access to what the stamps package keeps in ``app.extensions`` (set by ``init_app``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from flask import Flask

    from stamps.hotpath.ratelimit import ScanLimiter
    from stamps.hotpath.statements import ScanStatements
    from stamps.proofs import StampTreeCache
    from stamps.report import StoryCache

STORY_CACHE = "stamp_stories"
PROOF_TREES = "stamp_proof_trees"
SCAN_LIMITER = "scan_limiter"
SCAN_STATEMENTS = "scan_statements"


def story_cache(app: Flask) -> StoryCache:
    """Lot stories (events, certifications, anchoring) shown on scan pages, by version."""
    return cast("StoryCache", app.extensions[STORY_CACHE])


def proof_trees(app: Flask) -> StampTreeCache:
    """Lots' stamp trees behind proof bundles, by anchored stamp set."""
    return cast("StampTreeCache", app.extensions[PROOF_TREES])


def scan_limiter(app: Flask) -> ScanLimiter:
    """The scans' rate limiter (per-worker windows, Redis leased in batches)."""
    return cast("ScanLimiter", app.extensions[SCAN_LIMITER])


def scan_statements(app: Flask) -> ScanStatements:
    """The scan's prebuilt statements and each thread's connection for them, shared by the
    scan hot path and the inspector's lean path (one connection and one SQLite page cache
    per thread, not one each)."""
    return cast("ScanStatements", app.extensions[SCAN_STATEMENTS])


def set_story_cache(app: Flask, cache: StoryCache) -> None:
    """Keep the lot stories' cache for :func:`story_cache`."""
    app.extensions[STORY_CACHE] = cache


def set_proof_trees(app: Flask, trees: StampTreeCache) -> None:
    """Keep the stamp trees' cache for :func:`proof_trees`."""
    app.extensions[PROOF_TREES] = trees


def set_scan_limiter(app: Flask, limiter: ScanLimiter) -> None:
    """Keep the scans' rate limiter for :func:`scan_limiter`."""
    app.extensions[SCAN_LIMITER] = limiter


def set_scan_statements(app: Flask, statements: ScanStatements) -> None:
    """Keep the scan statements for :func:`scan_statements`."""
    app.extensions[SCAN_STATEMENTS] = statements

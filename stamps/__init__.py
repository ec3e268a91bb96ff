"""Stamp identity, minting, QR and PDF label rendering, and the consumer scan page."""

from __future__ import annotations

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded


def init_app(app: Flask) -> None:
    """Register the scan page (rate-limited per client) and the farmers' stamp pages."""
    from stamps import api, extensions, web_flags
    from stamps.hotpath.page import story_renderer
    from stamps.proof_trees import proof_trees_command
    from stamps.proofs import StampTreeCache
    from stamps.province_seed import seed_scale_command
    from stamps.report import StoryCache
    from stamps.story_share import SharedStories, share_swept_story
    from stamps.web import manage_bp, scan_bp
    from stamps.web_void import void_bp
    from trace.extensions import db_engine, demo_seed_hooks, offer_verified_lot_listener

    # Settings (SCAN_*, PROOF_TREE_CACHE_LEAVES, STAMP_VOID_UNDO_HOURS): trace.config.
    # Scans are limited by stamps.hotpath (one dictionary look-up, Redis leased in batches);
    # the app's other per-client limits share one limiter (trace.extensions.rate_limiter).
    # Lot stories (events, certifications, anchoring) shown on scan pages, by version,
    # shared between workers with their rendered HTML unless SCAN_SHARE_STORIES is off.
    shared = None
    if app.config["SCAN_SHARE_STORIES"]:
        shared = SharedStories(app.config["SECRET_KEY"], db_engine(app), story_renderer(app))
    extensions.set_story_cache(app, StoryCache(app.config["SCAN_STORY_CACHE_SIZE"], shared))
    # Lots the integrity sweep finds intact get the day's shared story (once per process).
    offer_verified_lot_listener(share_swept_story)
    # Lots' stamp trees behind proof bundles, by anchored stamp set, bounded by leaves held.
    extensions.set_proof_trees(app, StampTreeCache(app.config["PROOF_TREE_CACHE_LEAVES"]))
    from stamps.demo import seed_demo_stamps

    demo_seed_hooks(app).append(seed_demo_stamps)
    app.register_blueprint(scan_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(void_bp)
    app.register_error_handler(RateLimitExceeded, _too_many)
    api.init_app(app)
    web_flags.init_app(app)  # flag reviews, clone limits, the scan window
    from stamps import hotpath

    hotpath.init_app(app, scan_bp)  # last: it reads the settings the others set
    app.cli.add_command(seed_scale_command)
    app.cli.add_command(proof_trees_command)


def _too_many(error: RateLimitExceeded) -> ResponseReturnValue:
    from trace.web.errors import error_page

    body, status = error_page(429)  # type: ignore[misc]
    retry_after = getattr(error, "retry_after", None) or 60
    return body, status, {"Retry-After": str(int(retry_after))}

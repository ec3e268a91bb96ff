"""Marketplace adapters, sandbox marketplaces and listing sync jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Build the adapters from config; register the sync jobs, pages, API route and CLI.

    Outside production the adapters point at the sandboxes, which ``flask serve`` starts
    (a serve hook) unless ``MARKETPLACE_SANDBOXES`` is off.
    """
    from marketplace import api, cli, portal, serving, web, worker
    from marketplace.adapters import build_adapters
    from marketplace.config import flag, marketplace_config
    from marketplace.extensions import set_sync_settings
    from marketplace.sync import SyncSettings
    from trace.extensions import serve_hooks

    config = marketplace_config(app.config)
    app.config.update(config)
    settings = SyncSettings(
        adapters=build_adapters(config),
        base_url=app.config["PUBLIC_BASE_URL"],
        max_attempts=int(config.get("MARKETPLACE_MAX_ATTEMPTS", 6)),
        backoff_seconds=float(config.get("MARKETPLACE_BACKOFF_SECONDS", 2.0)),
    )
    set_sync_settings(app, settings)
    worker.register(app)
    web.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    portal.init_app(app, config)
    if flag(config["MARKETPLACE_SANDBOXES"]):
        serve_hooks(app).append(serving.start_sandboxes)

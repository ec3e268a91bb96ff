"""Typed access to what the marketplace keeps in ``app.extensions`` (set by ``init_app``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from flask import Flask

    from marketplace.portal.sync import PortalSettings
    from marketplace.sandbox.servers import RunningSandbox
    from marketplace.sync import SyncSettings

SYNC_SETTINGS = "marketplace"
PORTAL_SETTINGS = "portal"
SANDBOXES = "marketplace_sandboxes"


def sync_settings(app: Flask) -> SyncSettings:
    """The adapters and retry settings of the listing sync."""
    return cast("SyncSettings", app.extensions[SYNC_SETTINGS])


def set_sync_settings(app: Flask, settings: SyncSettings) -> None:
    """Keep the listing sync's settings for :func:`sync_settings`."""
    app.extensions[SYNC_SETTINGS] = settings


def portal_settings(app: Flask) -> PortalSettings | None:
    """The national portal connector's settings, or None when no portal is configured."""
    return cast("PortalSettings | None", app.extensions.get(PORTAL_SETTINGS))


def set_portal_settings(app: Flask, settings: PortalSettings) -> None:
    """Keep the portal connector's settings for :func:`portal_settings`."""
    app.extensions[PORTAL_SETTINGS] = settings


def set_sandboxes(app: Flask, running: list[RunningSandbox]) -> None:
    """Keep the sandbox marketplaces ``flask serve`` started."""
    app.extensions[SANDBOXES] = running

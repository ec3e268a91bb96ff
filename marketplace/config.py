"""Marketplace settings, derived by ``init_app`` from the app config (``trace.config`` reads
the environment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trace.config import MARKETPLACE_SETTINGS

SANDBOX_CREDENTIALS = {
    "POSTMART_API_KEY": "pm-sandbox-key",
    "VOSO_CLIENT_ID": "voso-sandbox-partner",
    "VOSO_CLIENT_SECRET": "voso-sandbox-secret",
    "PORTAL_CLIENT_ID": "portal-sandbox-province",
    "PORTAL_CLIENT_SECRET": "portal-sandbox-secret",
}
NAMES = MARKETPLACE_SETTINGS


def marketplace_config(app_config: Mapping[str, Any]) -> dict[str, Any]:
    """The marketplace settings: what the app config holds (read from the environment once,
    by ``trace.config``), then defaults.

    Outside production the adapters default to the sandboxes on 127.0.0.1 (ports 5101 and
    5102, the national portal's 5103) with the sandboxes' own credentials; in production
    nothing has a default, so a marketplace (or the portal) without configured credentials
    is simply not offered.
    """
    values = {name: app_config.get(name) for name in NAMES}
    values = {name: value for name, value in values.items() if value not in (None, "")}
    if app_config.get("AGRITRACE_ENV") == "production":
        return {"MARKETPLACE_SANDBOXES": "0", **values}
    development = app_config.get("AGRITRACE_ENV") == "development"
    defaults: dict[str, Any] = {
        **SANDBOX_CREDENTIALS,
        "POSTMART_SANDBOX_PORT": 5101,
        "VOSO_SANDBOX_PORT": 5102,
        "PORTAL_SANDBOX_PORT": 5103,
        "MARKETPLACE_SANDBOXES": "1" if development else "0",
    }
    merged = {**defaults, **values}
    merged.setdefault("POSTMART_URL", f"http://127.0.0.1:{merged['POSTMART_SANDBOX_PORT']}")
    merged.setdefault("VOSO_URL", f"http://127.0.0.1:{merged['VOSO_SANDBOX_PORT']}")
    merged.setdefault("PORTAL_URL", f"http://127.0.0.1:{merged['PORTAL_SANDBOX_PORT']}")
    return merged


def flag(value: Any) -> bool:
    """A boolean setting given as text ("1", "true", "yes") or a bool."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def http_timeout(config: Mapping[str, Any]) -> tuple[float, float]:
    """The (connect, read) timeout of every call to a marketplace or the portal."""
    return (
        float(config.get("MARKETPLACE_CONNECT_TIMEOUT", 3.05)),
        float(config.get("MARKETPLACE_TIMEOUT", 10)),
    )

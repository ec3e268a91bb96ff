"""The marketplace adapters, built from configuration in the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketplace.adapters.postmart import PostmartAdapter
from marketplace.adapters.voso import VosoAdapter
from marketplace.config import http_timeout
from marketplace.http import HttpClient
from marketplace.protocol import MarketplaceAdapter

__all__ = ["PostmartAdapter", "VosoAdapter", "build_adapters"]


def build_adapters(config: Mapping[str, Any]) -> dict[str, MarketplaceAdapter]:
    """One adapter per marketplace that has a URL and credentials in ``config``.

    :param config: the app config (``POSTMART_URL``, ``POSTMART_API_KEY``, ``VOSO_URL``,
        ``VOSO_CLIENT_ID``, ``VOSO_CLIENT_SECRET``, ``MARKETPLACE_TIMEOUT``).
    :returns: adapters by marketplace name.
    """
    timeout = http_timeout(config)
    adapters: dict[str, MarketplaceAdapter] = {}
    if config.get("POSTMART_URL") and config.get("POSTMART_API_KEY"):
        http = HttpClient(config["POSTMART_URL"], timeout)
        adapters["postmart"] = PostmartAdapter(http, config["POSTMART_API_KEY"])
    if config.get("VOSO_URL") and config.get("VOSO_CLIENT_ID") and config.get("VOSO_CLIENT_SECRET"):
        http = HttpClient(config["VOSO_URL"], timeout)
        adapters["voso"] = VosoAdapter(http, config["VOSO_CLIENT_ID"], config["VOSO_CLIENT_SECRET"])
    return adapters

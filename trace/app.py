"""The composition root: ``create_app`` builds the app and registers every package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import chain
from trace import cli, db, extensions, i18n, request_limits
from trace.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the AgriTrace app.

    :param config: settings that override the environment (tests, scripts).
    :raises ConfigError: when the configuration is unsafe or incomplete.
    """
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("AGRITRACE_INSTANCE")
    if instance:
        app.instance_path = str(instance)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path, config))
    request_limits.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # Client addresses (rate limits, scan fingerprints) come from the proxies' header,
        # and only from the hops we trust: a client cannot pretend to be many.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db.init_app(app)
    i18n.init_app(app)
    chain.init_app(app)
    from trace import alerts, anchoring, api, web

    web.init_app(app)
    anchoring.init_app(app)
    api.init_app(app)
    alerts.init_app(app)
    cli.init_app(app)
    # The composition root is the one place that wires the other packages in.
    import marketplace
    import stamps

    stamps.init_app(app)
    from stamps import resolver
    from trace.extensions import rate_limiter

    resolver.init_app(app)  # after the scan page: its /01/ view hands over to the resolver
    if "chain_rpc" in app.blueprints:  # /chain/rpc runs EVM code for anonymous callers
        rpc_limit = app.config["CHAIN_RPC_RATE_LIMIT"]  # trace.config
        rate_limiter(app).limit(rpc_limit)(cast(Blueprint, app.blueprints["chain_rpc"]))
    marketplace.init_app(app)
    _offer_seams(app)
    from marketplace import dashboard as listing_charts
    from stamps import dashboard as stamp_charts
    from trace import dashboard, opendata

    dashboard.init_app(app, (*stamp_charts.CHARTS, *listing_charts.CHARTS))
    opendata.init_app(app, stamp_charts.scan_statistics)
    return app


def _offer_seams(app: Flask) -> None:
    """What each package offers the others, which may not import it (``trace.extensions``)."""
    from marketplace.public import public_listings
    from marketplace.services import product_changed, queue_delist
    from stamps.stock import packed_units, packs_on_sale, stamped_lots

    extensions.offer_stock_counter(app, packs_on_sale)  # the listings' stock cap
    extensions.offer_delister(app, queue_delist)  # a recall takes the lot off sale
    extensions.offer_public_listings(app, public_listings)  # the product page's listings
    # Session seams (process-wide: services have a session, not the app).
    extensions.offer_product_listener(product_changed)  # listings resync on lot/stamp changes
    extensions.offer_packed_units(packed_units)  # transformations' mass balance
    extensions.offer_stamped_lots(stamped_lots)  # EPCIS events naming our stamps


def close_app(app: Flask) -> None:
    """Release what ``create_app`` opened: the database pool and the embedded chain's lock."""
    extensions.db_engine(app).dispose()
    extensions.chain_client(app).close()

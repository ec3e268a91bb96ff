"""The consumer scan at the framework's ceiling: a WSGI hot path for the stamp page, its
rate limit and its consent token (see :mod:`stamps.hotpath.serve`)."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.middleware.proxy_fix import ProxyFix

from stamps.extensions import scan_limiter, set_scan_limiter, set_scan_statements
from stamps.hotpath.ratelimit import ScanLimiter
from stamps.hotpath.serve import COUNTED, LIMITED, HotScan
from stamps.hotpath.statements import ScanStatements
from trace.extensions import db_engine


def init_app(app: Flask, scan_bp: Any) -> None:
    """Limit scans per client (both paths) and put the hot path in front of Flask.

    ``SCAN_HOT_PATH=False`` (or ``0`` in the environment: ``trace.config``) serves every
    scan, and the inspector's verdicts and proofs (:mod:`stamps.hotpath.inspector`),
    through the full Flask views. Lot stories are shared between workers (both paths,
    :mod:`stamps.story_share`, wired in ``stamps.init_app``) unless ``SCAN_SHARE_STORIES``
    is False.
    """
    from stamps.hotpath.inspector import HotInspector  # it imports stamps.api_lean, which
    from stamps.web.scan import share_location  # imports this package's statements
    from trace.web import csrf

    set_scan_limiter(app, ScanLimiter.from_config(app.config))
    durable = bool(app.config["SCAN_DURABLE_COMMIT"])
    set_scan_statements(app, ScanStatements(db_engine(app), durable=durable))
    # The consent POST carries a signed token bound to its scan instead (hotpath.consent).
    csrf.exempt(share_location)
    # On this app only (the blueprint object is shared by every app a process builds).
    app.before_request_funcs.setdefault(scan_bp.name, []).append(_limit_scans)
    if not app.config["SCAN_HOT_PATH"]:
        return
    # Inside ProxyFix, when there is one: the client address is the trusted hops' answer.
    outer = app.wsgi_app
    if isinstance(outer, ProxyFix):
        outer.app = HotScan(app, HotInspector(app, outer.app))
    else:
        app.wsgi_app = HotScan(app, HotInspector(app, outer))  # type: ignore[method-assign]


def _limit_scans() -> ResponseReturnValue | None:
    """The scan limit on the full view (the hot path counted its own requests already)."""
    from flask import current_app

    wait = request.environ.get(LIMITED)
    if wait is None and not request.environ.get(COUNTED):
        kind = "proof" if request.endpoint == "scan.public_proof" else "scan"
        wait = scan_limiter(current_app).hit(f"{kind}/{request.remote_addr or ''}")
    if wait is None:
        return None
    from trace.web.errors import error_page

    body, status = error_page(429)  # type: ignore[misc, str-unpack]
    return body, status, {"Retry-After": str(int(wait))}  # type: ignore[return-value]

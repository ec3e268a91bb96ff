"""``GET /healthz``: is the database, the chain and a worker usable? ``GET /livez``: alive."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from trace import jobs
from trace.db import get_session
from trace.extensions import chain_client
from trace.web.chain_probe import ChainProbe

#: Where the app keeps its chain probe (made by the first health check).
PROBE = "chain_probe"
bp = Blueprint("health", __name__)


@bp.get("/livez")
def livez() -> ResponseReturnValue:
    """Liveness: the process answers requests; touches no database (probes, benchmarks)."""
    return jsonify({"status": "ok"})


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Each part's status; 200 only when every part is usable. Answers within a second:
    a chain busy with other work is reported ``busy`` with its last known status."""
    parts = {"database": _database(), "chain": _chain(), "worker": _worker()}
    healthy = all(part["ok"] for part in parts.values())
    failing = [name for name, part in parts.items() if not part["ok"]]
    body = {"status": "ok" if healthy else "unavailable", "failing": failing, **parts}
    return jsonify(body), 200 if healthy else 503


def _database() -> dict[str, object]:
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as error:  # any driver error means "not usable"
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _chain() -> dict[str, object]:
    # Never asked here: anchoring or a slow /chain/rpc read may hold the chain's lock.
    client = chain_client(current_app)
    probe: ChainProbe | None = current_app.extensions.get(PROBE)
    if probe is None or probe.client is not client:
        probe = current_app.extensions[PROBE] = ChainProbe(client)
    return probe.status()


def _worker() -> dict[str, object]:
    try:
        live = jobs.live_workers(get_session())
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": live > 0, "live_workers": live}

"""In-process CPU per request of the scan page, against ``/livez`` in the same run.

Run from the repository root against a seeded database (``flask seed-scale``)::

    DATABASE_URL=... python -m bench.bench_scan_cpu [--scans 2000] [--paths 200] [--full]

Every request is a WSGI call into the app (no sockets, no server): ``/livez``, the scan
page as HTML, as JSON and as a linkset, each from a new client address (so every scan is
counted and written). Each stamp's lot is seen once before timing (warm story caches).
``--full`` serves the scans through the full Flask view instead of the hot path.

``--cold`` measures what a gunicorn worker meets on a large province instead: one stamp
per lot, and before each run the worker's own caches (lot stories, page pieces) are
emptied, so every timed scan is its lot's first in this process. What is shared between
workers (kept in the database or Redis) is kept: the first cold run pays for it, the
later ones show what a second worker pays. Prints JSON: CPU milliseconds per request
(``time.process_time``), median of ``--repeat`` runs.

``--api proof`` / ``--api verdict`` measure the inspector API instead (issue 21):
``GET /api/v1/stamps/{serial}/proof`` or ``GET /api/v1/stamps/{serial}`` with a
read-scoped inspector token (the user and token are made in the database on first use),
one stamp of each of ``--paths`` random anchored lots. A first pass stores each lot's tree
on the host (``PROOF_TREE_STORE``) and shares its story; before each timed run the
worker's own caches (stories, stamp trees) are emptied, so every timed proof is its lot's
first in this worker with its tree stored: what the benchmark's 20,000 random stamps
over ~14,000 lots meet. ``--profile`` prints cProfile's top 15 (cumulative) of one run.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bench.bench_scan import FRESH_BELOW, _every_nth_stamp
from trace.app import create_app

PHONE = "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"
ACCEPT = {"html": "text/html", "json": "application/json", "linkset": "application/linkset+json"}


def stamp_paths(app: Any, count: int, one_per_lot: bool = False) -> list[str]:
    """Digital Link paths of about ``count`` stamps spread over the whole table (of as many
    lots, with ``one_per_lot``)."""
    if one_per_lot:
        return lot_paths(app, count)
    rows = _every_nth_stamp(
        app.config["DATABASE_URL"],
        count,
        "SELECT p.gtin, l.code, s.serial FROM stamps s JOIN lots l ON l.id = s.lot_id "
        "JOIN products p ON p.id = l.product_id WHERE s.id % :step = :offset "
        "AND s.status = 'active' AND s.scan_count < :fresh",
    )
    return [f"/01/{g}/10/{c}/21/{s}" for g, c, s in rows]


def lot_paths(app: Any, count: int) -> list[str]:
    """One active stamp of each of up to ``count`` lots (of the lots that have stamps)."""
    with app.extensions["db_engine"].connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.gtin, l.code, s.serial FROM (SELECT min(id) AS id FROM stamps "
                "WHERE status = 'active' AND scan_count < :fresh GROUP BY lot_id) f "
                "JOIN stamps s ON s.id = f.id "
                "JOIN lots l ON l.id = s.lot_id JOIN products p ON p.id = l.product_id "
                "ORDER BY l.id LIMIT :count"
            ),
            {"count": count, "fresh": FRESH_BELOW},
        ).all()
    return [f"/01/{g}/10/{c}/21/{s}" for g, c, s in rows]


def forget_lots(app: Any) -> None:
    """Empty this worker's own caches of lots (stories, page pieces, lot notes)."""
    stories = app.extensions["stamp_stories"]
    if getattr(stories, "shared", None) is not None:
        stories.clear(shared=False)  # what other workers read stays shared
    else:
        stories.clear()
    hot = app.wsgi_app
    for name in ("pages", "lot_notes", "lot_facts"):
        clear = getattr(getattr(hot, name, None), "clear", None)
        if clear is not None:
            clear()


def caller(app: Any, headers: dict[str, str] | None = None) -> Callable[[str, str, str], int]:
    """A bare WSGI call: the cost of the app, not of a test client."""

    def call(path: str, accept: str, address: str) -> int:
        environ: dict[str, Any] = {
            **(headers or {}),
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "RAW_URI": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": address,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT": accept,
            "HTTP_USER_AGENT": PHONE,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        body = app(environ, lambda s, h, e=None: status.append(s))
        try:
            for _ in body:
                pass
        finally:
            getattr(body, "close", lambda: None)()
        return int(status[0][:3])

    return call


def run(call: Callable[[str, str, str], int], paths: list[str], kind: str, n: int) -> float:
    """CPU milliseconds per request over ``n`` requests."""
    counter = run.counter  # type: ignore[attr-defined]
    started = time.process_time()
    for i in range(n):
        counter[0] += 1
        address = f"10.{counter[0] >> 16 & 255}.{counter[0] >> 8 & 255}.{counter[0] & 255}"
        path = "/livez" if kind == "livez" else paths[i % len(paths)]
        status = call(path, ACCEPT.get(kind, "*/*"), address)
        assert status == 200, (path, status)
    return (time.process_time() - started) * 1000 / n


# Addresses no earlier run used within the scan window: every timed scan is counted.
run.counter = [random.randrange(1 << 24)]  # type: ignore[attr-defined]


INSPECTOR = "cpu-bench-inspector@agritrace.invalid"


def inspector_token(app: Any) -> str:
    """A read-scoped token of an inspector made for this benchmark (made on first use)."""
    from sqlmodel import Session

    from trace.models import Role
    from trace.services import tokens
    from trace.services.access import Actor
    from trace.services.accounts import create_user, find_user

    with app.app_context(), Session(app.extensions["db_engine"]) as session:
        user = find_user(session, INSPECTOR)
        if user is None:
            method = app.config["PASSWORD_HASH_METHOD"]
            user = create_user(session, INSPECTOR, random.randbytes(12).hex(), "inspector", method)
        operator = Actor(user_id=user.id, role=Role.ADMIN)  # type: ignore[arg-type]
        return tokens.issue_token(session, operator, INSPECTOR, ["read"], None, "cpu").secret


def anchored_lot_serials(app: Any, count: int) -> list[str]:
    """One stamp (the lot's first) of each of ``count`` random lots with a confirmed version."""
    with app.extensions["db_engine"].connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.serial FROM (SELECT DISTINCT d.lot_id FROM lot_documents d "
                "JOIN anchor_rounds r ON r.id = d.round_id WHERE r.status = 'confirmed' "
                "AND d.stamp_root IS NOT NULL) a "
                "JOIN stamps s ON s.id = (SELECT min(id) FROM stamps WHERE lot_id = a.lot_id)"
            )
        ).all()
    serials = [serial for (serial,) in rows]
    random.Random(21).shuffle(serials)
    return serials[:count]


def forget_worker(app: Any) -> None:
    """Empty this worker's own caches of lots and stamp trees (the host's store is kept)."""
    forget_lots(app)
    app.extensions["stamp_proof_trees"].clear()


def answered_before_flask(app: Any) -> dict[str, int]:
    """What each WSGI layer in front of Flask (the hot paths) answered itself, by class."""
    found, layer = {}, app.wsgi_app
    while hasattr(layer, "app"):
        if isinstance(getattr(layer, "answered", None), int):
            found[type(layer).__name__] = layer.answered
        layer = layer.app
    return found


def api_main(args: argparse.Namespace) -> None:
    """CPU per inspector API request (``--api proof|verdict``), its lot new to the worker."""
    config = {"API_TOKEN_CACHE_SECONDS": 60.0}
    app = create_app(config)
    call = caller(app, {"HTTP_AUTHORIZATION": f"Bearer {inspector_token(app)}"})
    serials = anchored_lot_serials(app, args.paths)
    suffix = "/proof" if args.api == "proof" else ""
    paths = [f"/api/v1/stamps/{serial}{suffix}" for serial in serials]
    started = time.process_time()
    run(call, paths, "api", len(paths))  # stores the trees, shares the stories
    first = (time.process_time() - started) * 1000 / len(paths)
    timings = []
    for _ in range(args.repeat):
        forget_worker(app)
        timings.append(run(call, paths, "api", len(paths)))
    out = {
        "api": args.api,
        "database": app.config["DATABASE_URL"].split(":", 1)[0],
        "lots": len(paths),
        "first_pass_cpu_ms": round(first, 3),
        "cpu_ms_per_request": round(statistics.median(timings), 3),
        "runs": [round(x, 3) for x in timings],
        "answered_before_flask": answered_before_flask(app),
    }
    if args.profile:
        import cProfile
        import pstats

        forget_worker(app)
        profile = cProfile.Profile()
        profile.runcall(run, call, paths, "api", len(paths))
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(15)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    print(json.dumps(out, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--paths", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="the full Flask view")
    parser.add_argument("--cold", action="store_true", help="every scan its lot's first")
    parser.add_argument("--api", choices=("proof", "verdict"), help="the inspector API instead")
    parser.add_argument("--profile", action="store_true", help="cProfile of one --api run")
    args = parser.parse_args()
    if args.api:
        api_main(args)
        return
    config = {"SCAN_RATE_LIMIT": "100000000 per minute", "SCAN_HOT_PATH": not args.full}
    app = create_app(config)
    call = caller(app)
    paths = stamp_paths(app, args.paths, one_per_lot=args.cold)
    if args.cold:
        args.scans = min(args.scans, len(paths))
    else:
        for kind in ("html", "json"):  # warm: each lot's story and fragments
            run(call, paths, kind, len(paths))
    results: dict[str, list[float]] = {k: [] for k in ("livez", "html", "json")}
    for _ in range(args.repeat):
        for kind in results:
            if args.cold:
                forget_lots(app)
            results[kind].append(run(call, paths, kind, args.scans))
    medians = {k: round(statistics.median(v), 3) for k, v in results.items()}
    out = {
        "path": "full" if args.full else "hot",
        "lots": "cold" if args.cold else "warm",
        "database": app.config["DATABASE_URL"].split(":", 1)[0],
        "cpu_ms_per_request": medians,
        "runs": {k: [round(x, 3) for x in v] for k, v in results.items()},
        "answered_by_hot_path": getattr(app.wsgi_app, "answered", None),
        "ratio_to_livez": {k: round(medians["livez"] / v, 3) for k, v in medians.items()},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

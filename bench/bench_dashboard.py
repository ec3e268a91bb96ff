"""Province dashboard load time at scale: the page and each chart's CSV, logged in as admin.

Run from the repository root::

    python -m bench.bench_dashboard [--factor 1] [--database-url postgresql+psycopg://...]
        [--repeat 7]

Reuses (or seeds) the province that ``bench.bench_scan`` uses under ``instance/bench/``
(``flask seed-scale --factor F --seed 1``), folds the scan log into the dashboard's
rollups with ``flask dashboard-rollup`` (what the worker does every minute), then loads
the dashboard in-process with the Flask test client: the page for the default filters,
the page narrowed to a district and a category over 24 months, and every chart's CSV.
Loads are interleaved so each figure sees the same machine. Prints JSON and writes it to
``bench/results-raw/dashboard-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.bench_scan import RAW, WORK, database_for, environment, flask, seed

ADMIN = "bench-admin@scale.agritrace.vn"
TARGET_SECONDS = 1.0
NARROWED = {"district": "chau-thanh", "category": "fruit", "period": "24"}


def prepare(env: dict[str, str], factor: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Seed or reuse the province, fold the rollups, make an admin; returns what it did."""
    seeding = seed(env, factor)
    started = time.perf_counter()
    folded = flask(env, "dashboard-rollup")
    if folded.returncode:
        raise SystemExit(f"dashboard-rollup failed:\n{folded.stderr[-2000:]}")
    rollup = {"wall_seconds": round(time.perf_counter() - started, 2), "output": folded.stdout}
    # Nobody logs in with this password: the client below is given the admin's session.
    flask(env, "create-user", ADMIN, "--role", "admin", "--password", os.urandom(12).hex())
    return seeding, rollup


def client_for(env: dict[str, str]) -> tuple[Any, list[str]]:
    """A test client of an app on the bench database, in the bench admin's session."""
    from trace.app import create_app
    from trace.db import get_session
    from trace.services.accounts import find_user

    app = create_app(
        {
            "DATABASE_URL": env["DATABASE_URL"],
            "AGRITRACE_ENV": "development",
            "INSTANCE_PATH": env["AGRITRACE_INSTANCE"],
        }
    )
    with app.app_context():
        admin = find_user(get_session(), ADMIN)
        if admin is None:
            raise SystemExit(f"no account {ADMIN}")
        session_id = admin.get_id()  # the user and its session version
    client = app.test_client()
    with client.session_transaction() as browser:
        browser["_user_id"], browser["_fresh"] = session_id, True
    return client, sorted(app.extensions["dashboard_charts"])


def load(client: Any, path: str, args: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, query_string=args)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{path} {args}: HTTP {response.status_code}")
    return seconds


def measure(client: Any, charts: list[str], repeat: int) -> dict[str, dict[str, Any]]:
    targets = {"page": ("/dashboard/", {}), "page_narrowed": ("/dashboard/", NARROWED)}
    targets |= {f"csv:{key}": (f"/dashboard/{key}.csv", {}) for key in charts}
    for path, args in targets.values():  # warm caches and the connection pool
        load(client, path, args)
    seconds: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(repeat):
        for name, (path, args) in targets.items():
            seconds[name].append(load(client, path, args))
    return {name: summarise(values) for name, values in seconds.items()}


def summarise(values: list[float]) -> dict[str, Any]:
    median = statistics.median(values)
    return {
        "median_s": round(median, 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "repeats": len(values),
        "target_met": median < TARGET_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    backend = "postgresql" if args.database_url else "sqlite"
    env = environment(database_for(args.database_url, args.factor))
    seeding, rollup = prepare(env, args.factor)
    client, charts = client_for(env)
    figures = measure(client, charts, args.repeat)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": backend,
        "factor": args.factor,
        "target_s": TARGET_SECONDS,
        "seed": seeding,
        "rollup": rollup,
        "narrowed_filters": NARROWED,
        "figures": figures,
        "all_met": all(f["target_met"] for f in figures.values()),
    }
    RAW.mkdir(exist_ok=True)
    (RAW / f"dashboard-{backend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    main()

"""Run every benchmark in bench/ on SQLite and PostgreSQL; write results.json and the doc.

``python -m bench.run [--factor 1] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
[--no-pg] [--quick]`` (``make bench`` / ``make bench FACTOR=10``). Each script runs as a
subprocess with a time limit; a failing script is recorded as failed, never hidden.
Benchmarks use databases of their own beside ``test`` on the PostgreSQL server.
``docs/benchmarks.md`` is generated from ``bench/results.json`` only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
RAW = ROOT / "bench" / "results-raw"
DOC = ROOT / "docs" / "benchmarks.md"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PY = [sys.executable, "-m"]


def plan(factor: float, pg: str | None, quick: bool) -> list[tuple[str, list[str], int]]:
    """(name, command, time limit in seconds) of every run."""
    scale = ["--factor", f"{factor:g}"]
    scan = ["bench.bench_scan", *scale]
    scan += ["--duration", "3", "--repeat", "2"] if quick else ["--duration", "6", "--repeat", "3"]
    sizes = "100000" if quick else "100000,1000000"
    dashboard = ["bench.bench_dashboard", "--factor", f"{factor:g}"]
    dashboard += ["--repeat", "3" if quick else "7"]
    runs = [
        ("mint-sqlite", [*PY, "bench.bench_mint", "--sizes", sizes], 900),
        ("merkle", [*PY, "bench.bench_merkle", "--py-size", "100000" if quick else "1000000"], 900),
        ("anchor", [*PY, "bench.bench_anchor"] + (["--lots", "200"] if quick else []), 900),
        ("labels", [*PY, "bench.bench_labels"] + (["--quick"] if quick else []), 900),
        # Anchors every lot of the seeded province, so the scan run measures real proofs.
        ("province-round-sqlite", [*PY, "bench.bench_province_round", *scale], 1800),
        ("scan-sqlite", [*PY, *scan], 1800),
        # After scan-sqlite: it reuses the province that run seeds (and its scans).
        ("dashboard-sqlite", [*PY, *dashboard], 1200),
    ]
    if pg:
        runs.append(
            (
                "mint-postgresql",
                [*PY, "bench.bench_mint", "--sizes", sizes, "--database-url", pg],
                900,
            )
        )
        runs.append(
            (
                "province-round-postgresql",
                [*PY, "bench.bench_province_round", *scale, "--database-url", pg],
                1800,
            )
        )
        runs.append(("scan-postgresql", [*PY, *scan, "--database-url", pg], 1800))
        runs.append(("dashboard-postgresql", [*PY, *dashboard, "--database-url", pg], 1200))
    return runs


def run_one(name: str, command: list[str], limit: int) -> dict[str, Any]:
    started = time.perf_counter()
    print(f"== {name}: {' '.join(command[2:])}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"command": _shown(command), "ok": False, "error": f"timed out after {limit} s"}
    record: dict[str, Any] = {
        "command": _shown(command),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "ok": done.returncode == 0,
    }
    try:
        record["result"] = json.loads(done.stdout)
    except json.JSONDecodeError:
        record["ok"] = False
    if not record["ok"]:
        record["error"] = (done.stderr or done.stdout)[-1500:]
    return record


def _shown(command: list[str]) -> str:
    return "python -m " + " ".join(command[2:])


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
    }


def versions(pg: str | None) -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("flask", "sqlalchemy", "gunicorn", "psycopg"):
        found[package] = version(package)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk.stdout or wrk.stderr).split("[")[0].strip() or "missing"
    if pg:
        from sqlalchemy import create_engine, text

        engine = create_engine(pg)
        with engine.connect() as conn:
            found["postgresql"] = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    found["git"] = commit.stdout.strip()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", PG))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    parser.add_argument("--only", default="", help="comma-separated run names (default: all)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc only")
    args = parser.parse_args()
    if args.render_only:
        DOC.write_text(render(json.loads(RESULTS.read_text())))
        return
    pg = None if args.no_pg else args.pg
    started = datetime.now(UTC)
    if args.only and RESULTS.exists():  # refresh the named runs, keep the others
        refresh(args.only.split(","), plan(args.factor, pg, args.quick))
        return
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "factor": args.factor,
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(pg),
        "make": f"make bench FACTOR={args.factor:g}",
        "runs": {},
    }
    for name, command, limit in plan(args.factor, pg, args.quick):
        if args.only and name not in args.only.split(","):
            continue
        results["runs"][name] = run_one(name, command, limit)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for name in ("api", "marketplace"):  # written by their own scripts, when present
        path = RAW / f"{name}.json"
        if path.exists():
            results["runs"][name] = {"command": f"(read from {path.relative_to(ROOT)})", "ok": True,
                                     "result": json.loads(path.read_text())}  # fmt: skip
    results["wall_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(results))
    print(f"Wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}.", file=sys.stderr)


def refresh(names: list[str], planned: list[tuple[str, list[str], int]]) -> None:
    """Re-run some benchmarks into the existing results; each run records its own date."""
    results = json.loads(RESULTS.read_text())
    for name, command, limit in planned:
        if name in names:
            record = run_one(name, command, limit)
            record["date"] = datetime.now(UTC).isoformat(timespec="seconds")
            _keep_seeding_time(record, results["runs"].get(name), results["date"])
            results["runs"][name] = record
            RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    DOC.write_text(render(results))
    where = f"{RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}"
    print(f"Refreshed {', '.join(names)} in {where}.", file=sys.stderr)


def _keep_seeding_time(record: dict[str, Any], old: dict[str, Any] | None, date: str) -> None:
    """A run that reused the seeded database keeps the seeding time measured before."""
    seed = record.get("result", {}).get("seed", {})
    earlier = (old or {}).get("result", {}).get("seed", {})
    if seed.get("reused") and "wall_seconds" in earlier:
        record["result"]["seed"] = {**earlier, "measured": earlier.get("measured", date)}


def render(results: dict[str, Any]) -> str:
    from bench.report import render_markdown

    return render_markdown(results)


if __name__ == "__main__":
    main()

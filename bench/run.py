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

from bench.bench_scan import ensure_wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"  # factor 1; other factors: results-factor-<F>.json
RAW = ROOT / "bench" / "results-raw"
DOC = ROOT / "docs" / "benchmarks.md"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PY = [sys.executable, "-m"]


def results_path(factor: float) -> Path:
    """Each scale factor keeps its own results, so a factor-10 run leaves factor 1's alone."""
    tag = f"{factor:g}".replace(".", "_")
    return RESULTS if factor == 1 else RESULTS.with_name(f"results-factor-{tag}.json")


def plan(factor: float, pg: str | None, quick: bool) -> list[tuple[str, list[str], int]]:
    """(name, command, time limit in seconds) of every run.

    Runs that measure the province (seeding, anchoring it, scans and the inspector API, the
    dashboard, minting into it, listing its products) run at every factor on each backend;
    those on a database of their own (minting from empty, Merkle trees, anchoring rounds,
    label sheets, scans during a 1,000,000-stamp mint) only at factor 1, where they do not
    depend on the province's size.
    """
    scale = ["--factor", f"{factor:g}"]
    # Runs that may seed the province: factor 10 seeds ~35 min on PostgreSQL here.
    seeding = 1800 + int(300 * max(factor, 1))
    scan = ["bench.bench_scan", *scale]
    scan += ["--duration", "3", "--repeat", "2"] if quick else ["--duration", "6", "--repeat", "3"]
    sizes = "100000" if quick else "100000,1000000"
    dashboard = ["bench.bench_dashboard", *scale, "--repeat", "3" if quick else "7"]
    into = ["bench.bench_mint", "--sizes", "100000", "--province-factor", f"{factor:g}"]
    into += ["--repeat", "2" if quick else "3"]
    market = ["bench.bench_marketplace", "--province-factor", f"{factor:g}", "--json"]
    # Listing the province's 8,047 products once, by two `flask worker --only marketplace.`
    # processes, as deployed; the reprice phase and the faults round run in
    # `python -m bench.bench_marketplace`.
    market += ["--rounds", "clean", "--phases", "list", "--workers", "0"]
    market += ["--worker-processes", "2"]
    market += ["--products", "500" if quick else "8047"]
    runs: list[tuple[str, list[str], int]] = []
    if factor == 1:
        runs += [
            ("mint-sqlite", [*PY, "bench.bench_mint", "--sizes", sizes], 900),
            ("merkle", [*PY, "bench.bench_merkle", "--py-size", "100000" if quick else "1000000"],
             900),
            ("anchor", [*PY, "bench.bench_anchor"] + (["--lots", "200"] if quick else []), 900),
            ("labels", [*PY, "bench.bench_labels"] + (["--quick"] if quick else []), 900),
        ]  # fmt: skip
        # Scan latency while 1,000,000 stamps are minted (issue 21), on a fresh database.
        mint_scan = [*PY, "bench.bench_mint_scan", "--size", "100000" if quick else "1000000"]
        runs.append(("mint-scan-sqlite", mint_scan, 900))
        if pg:
            runs.append(("mint-postgresql", [*PY, "bench.bench_mint", "--sizes", sizes,
                                              "--database-url", pg], 900))  # fmt: skip
            runs.append(("mint-scan-postgresql", [*mint_scan, "--database-url", pg], 900))
    for backend, url in (("sqlite", []), ("postgresql", ["--database-url", pg] if pg else None)):
        if url is None:
            continue
        runs += [
            # Seeds the province (or reuses it) and anchors every lot, so that the scan
            # run measures real proofs.
            (f"province-round-{backend}", [*PY, "bench.bench_province_round", *scale, *url],
             seeding),
            (f"scan-{backend}", [*PY, *scan, *url], 1800),
            (f"dashboard-{backend}", [*PY, *dashboard, *url], 1200),
            # After the scans: the lots it mints stay in the province.
            (f"mint-province-{backend}", [*PY, *into, *url], 900),
            (f"marketplace-{backend}", [*PY, *market, *url], 1800),
        ]  # fmt: skip
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
    found["git"] = commit()
    return found


def commit() -> str:
    """The checkout's commit, short: what the figures were measured on."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip()


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
        write_doc()
        return
    pg = None if args.no_pg else args.pg
    ensure_wrk()  # a fresh machine has none; the versions below name it
    path = results_path(args.factor)
    started = datetime.now(UTC)
    if args.only and path.exists():  # refresh the named runs, keep the others
        refresh(path, args.only.split(","), plan(args.factor, pg, args.quick))
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
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    results["wall_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    write_doc()
    print(f"Wrote {path.relative_to(ROOT)} and {DOC.relative_to(ROOT)}.", file=sys.stderr)


def refresh(path: Path, names: list[str], planned: list[tuple[str, list[str], int]]) -> None:
    """Re-run some benchmarks into the existing results; each run records its own date."""
    results = json.loads(path.read_text())
    for name, command, limit in planned:
        if name in names:
            record = run_one(name, command, limit)
            record["date"] = datetime.now(UTC).isoformat(timespec="seconds")
            record["git"] = commit()
            _keep_seeding_time(record, results["runs"].get(name), results["date"])
            results["runs"][name] = record
            path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    write_doc()
    where = f"{path.relative_to(ROOT)} and {DOC.relative_to(ROOT)}"
    print(f"Refreshed {', '.join(names)} in {where}.", file=sys.stderr)


def write_doc() -> None:
    """docs/benchmarks.md from every factor's results file, factor 1 first."""
    found = sorted(RESULTS.parent.glob("results*.json"))
    every = sorted((json.loads(p.read_text()) for p in found), key=lambda r: r["factor"])
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(every))


def _keep_seeding_time(record: dict[str, Any], old: dict[str, Any] | None, date: str) -> None:
    """A run that reused the seeded database keeps the seeding time measured before."""
    seed = record.get("result", {}).get("seed", {})
    earlier = (old or {}).get("result", {}).get("seed", {})
    if seed.get("reused") and "wall_seconds" in earlier:
        record["result"]["seed"] = {**earlier, "measured": earlier.get("measured", date)}


def render(every: list[dict[str, Any]]) -> str:
    from bench.report import render_markdown

    return render_markdown(every)


if __name__ == "__main__":
    main()

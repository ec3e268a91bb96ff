"""Scan page throughput under gunicorn against a seeded province, as a ratio to ``/livez``.

Run from the repository root::

    python -m bench.bench_scan [--factor 1] [--database-url postgresql+psycopg://...]
        [--duration 6] [--repeat 3] [--connections 8,32,128] [--worker-class sync]

Seeds (or reuses) a province with ``flask seed-scale``, starts gunicorn with 2 workers on
a free 127.0.0.1 port, and drives it with wrk over random stamp URLs (``bench/scan.lua``):
``/livez``, the scan page as HTML and as JSON, and the inspector's verdict and proof API
and EPCIS date-range queries (random 1-day windows of the seeded year, 100 per page).
Every wrk run is bounded by ``--duration``; gunicorn is stopped at the end. Prints JSON
and writes it to ``bench/results-raw/scan-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.processes import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORK = ROOT / "instance" / "bench"
LUA = ROOT / "bench" / "scan.lua"
RAW = ROOT / "bench" / "results-raw"
INSPECTOR = "bench-inspector@scale.agritrace.vn"
API_ROUTES = ("api_verdict", "api_proof", "api_epcis_query")  # measured at 32 clients
# What deployments run (README): each request comes from another consumer through one
# trusted proxy (bench/scan.lua sets X-Forwarded-For), so every scan is counted, written
# and rate-limited per client as a province's are, under the default limit.
APP = "wsgi:app"


def database_for(base_url: str | None, factor: float) -> str:
    """The bench database: a SQLite file, or a PostgreSQL database next to ``test``."""
    tag = f"{factor:g}".replace(".", "_")
    if not base_url:
        WORK.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{WORK / f'scale-{tag}.db'}"
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"agritrace_bench_scale_{tag}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "AGRITRACE_ENV": "development",
        "AGRITRACE_INSTANCE": str(WORK / "instance"),
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "TRUSTED_PROXIES": "1",
        # As deployed with several workers: limits counted in Redis when it runs here.
        "RATELIMIT_STORAGE_URI": rate_limit_storage(),
    }


def rate_limit_storage() -> str:
    """Redis on 127.0.0.1:6379 when it answers, else per-process memory."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/0"
    except OSError:
        pass
    return "memory://"


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def seed(env: dict[str, str], factor: float) -> dict[str, Any]:
    """Migrate and seed; an earlier seed of the same database is reused."""
    migrated = flask(env, "migrate")
    if migrated.returncode:
        raise SystemExit(f"migrate failed:\n{migrated.stderr[-2000:]}")
    start = time.perf_counter()
    done = flask(env, "seed-scale", "--factor", str(factor), "--seed", "1")
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        return {"reused": False, "wall_seconds": round(seconds, 1), "output": done.stdout}
    if "already holds a scale seed" in done.stderr:
        return {"reused": True}
    raise SystemExit(f"seed-scale failed:\n{done.stderr[-2000:]}")


def drop(url: str) -> None:
    if not _is_pg(url):
        for suffix in ("", "-wal", "-shm"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
        return
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _is_pg(url: str) -> bool:
    return url.startswith("postgresql")


#: Stamps scanned this often already are left out of a run's sample: a run scans each of
#: its stamps ~10 times (every request another consumer), and past the product's limit
#: (50 by default) a scan is the clone rules' (SUSPICIOUS), which a province's stamps
#: rarely are.
FRESH_BELOW = 20


def _every_nth_stamp(url: str, count: int, query: str) -> list[Any]:
    """Rows of ``query`` (which filters on ``s.id % :step = :offset``) for about ``count``
    stamps spread evenly over the whole stamps table; each call another random offset,
    so repeated runs on one database scan other stamps."""
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT max(id) FROM stamps")).scalar_one()
        step = max(1, total // count)
        values = {"step": step, "offset": random.randrange(step), "fresh": FRESH_BELOW}
        rows = conn.execute(text(query), values).all()
    engine.dispose()
    return list(rows)


def sample_paths(url: str, count: int) -> tuple[list[str], list[str]]:
    """Random stamps' Digital Link paths and serials (of stamps not scanned often yet)."""
    rows = _every_nth_stamp(
        url,
        count,
        "SELECT p.gtin, l.code, s.serial FROM stamps s "
        "JOIN lots l ON l.id = s.lot_id JOIN products p ON p.id = l.product_id "
        "WHERE s.id % :step = :offset AND s.scan_count < :fresh",
    )
    return [f"/01/{g}/10/{c}/21/{s}" for g, c, s in rows], [s for _, _, s in rows]


def anchored_serials(url: str, count: int) -> list[str]:
    """Random serials of stamps minted before the last confirmed round: those have proofs.

    Stamps minted later (the minting benchmark adds 300,000 to the province) are answered
    409 "not anchored yet", which is right but is not a proof bundle.
    """
    rows = _every_nth_stamp(
        url,
        count,
        "SELECT s.serial FROM stamps s JOIN stamp_runs r ON r.id = s.run_id "
        "WHERE s.id % :step = :offset AND r.created_at <= (SELECT max(confirmed_at) "
        "FROM anchor_rounds WHERE status = 'confirmed')",
    )
    return [serial for (serial,) in rows]


def epcis_paths(url: str, count: int) -> list[str]:
    """EPCIS date-range queries: 1-day windows at random days of the seeded events."""
    engine = create_engine(url)
    with engine.connect() as conn:
        first, last = conn.execute(
            text("SELECT min(occurred_at), max(occurred_at) FROM events")
        ).one()
    engine.dispose()
    if first is None:
        return []
    first, last = (datetime.fromisoformat(str(t)).date() for t in (first, last))
    rng, days = random.Random(7), max((last - first).days, 1)
    paths = []
    for _ in range(count):
        day = first + timedelta(days=rng.randrange(days + 1))
        window = f"GE_eventTime={day}T00:00:00%2B07:00&LT_eventTime={day + timedelta(days=1)}"
        paths.append(f"/api/v1/epcis/events?{window}T00:00:00%2B07:00&perPage=100")
    return paths


def database_size(url: str) -> int:
    if not _is_pg(url):
        path = make_url(url).database or ""
        return sum(Path(path + s).stat().st_size for s in ("", "-wal") if Path(path + s).exists())
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def inspector_token(env: dict[str, str]) -> str | None:
    """A read-scoped inspector token, made with the operators' own commands."""
    flask(env, "create-user", INSPECTOR, "--role", "inspector", "--password", os.urandom(12).hex())
    done = flask(env, "create-token", INSPECTOR, "--scope", "read", "--label", "bench")
    token = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout else ""
    return token or None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn with N workers on 127.0.0.1; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, env: dict[str, str], workers: int, worker_class: str) -> None:
        self.port = free_port()
        command = [
            str(BIN / "gunicorn"), "-w", str(workers), "-k", worker_class,
            "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--backlog", "2048",
        ]  # fmt: skip
        if worker_class == "gthread":
            command += ["--threads", "4"]
        self.process = subprocess.Popen(
            [*command, APP],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                errors = self.process.stderr.read() if self.process.stderr else ""
                raise SystemExit(f"gunicorn exited:\n{errors[-2000:]}")
            if self._answers_livez(times=20):  # both workers booted and serving
                return
            time.sleep(0.5)
        self.stop()
        raise SystemExit("gunicorn did not serve /livez within 300 s")

    def _answers_livez(self, times: int) -> bool:
        try:
            return all(livez(self.port, timeout=5) for _ in range(times))
        except OSError:
            return False

    def settle(self) -> float:
        return settle(self.port)

    def worker_peak_rss_mb(self) -> float:
        """The largest peak resident memory (VmHWM) among the workers."""
        peaks = []
        for child in (
            Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        ):
            status = Path(f"/proc/{child}/status").read_text()
            kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
            peaks.append(int(kb) / 1024)
        return round(max(peaks), 1) if peaks else 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def livez(port: int, timeout: float) -> bool:
    """One ``GET /livez`` on 127.0.0.1: whether it answered 200 (OSError if it did not answer)."""
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{port}/livez", timeout=timeout) as response:
        response.read()
        return bool(response.status == 200)


def settle(port: int, quick_s: float = 0.02, grace_s: float = 0.25, limit_s: float = 60) -> float:
    """Wait until the server has drained the requests a finished wrk run left queued.

    wrk closes its connections when its time is up, but gunicorn still serves every
    request already in its accept queue: up to one per client, each as slow as the route
    was (an EPCIS query at 32 clients leaves ~1 s of work). The next run would charge
    that backlog to its own tail. The accept queue is first in, first out, so a probe of
    ``/livez`` that answers within ``quick_s`` found it empty; ``grace_s`` then lets each
    worker finish the one request it may still hold. Returns the seconds waited.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        probe = time.perf_counter()
        try:
            livez(port, timeout=limit_s)
        except OSError:
            time.sleep(0.1)
            continue
        if time.perf_counter() - probe < quick_s:
            break
    time.sleep(grace_s)
    return round(time.monotonic() - started, 3)


def wrk(
    port: int, paths_file: Path, connections: int, seconds: float, **headers: str
) -> dict[str, Any]:
    """One bounded wrk run; wrk stops itself after ``seconds``."""
    env = {**os.environ, "BENCH_PATHS": str(paths_file)}
    env |= {f"BENCH_{name.upper()}": value for name, value in headers.items()}
    done = subprocess.run(
        ["wrk", "-t", "1" if connections < 16 else "2", "-c", str(connections),
         "-d", f"{round(seconds)}s", "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    return result


def ensure_wrk() -> None:
    """Install Debian's wrk when missing (root with apt-get), else stop and say how."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing wrk (apt-get)...", file=sys.stderr)
        quiet = {"env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, "check": False}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)  # type: ignore[call-overload]
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)  # type: ignore[call-overload]
    if not shutil.which("wrk"):
        raise SystemExit("!!! wrk is not installed and could not be: sudo apt-get install wrk")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and spread (min..max) of each figure over repeated runs."""
    out: dict[str, Any] = {"repeats": len(runs)}
    for key in ("rps", "p50_ms", "p99_ms"):
        values = [run[key] for run in runs]
        out[key] = {"median": round(statistics.median(values), 2),
                    "min": round(min(values), 2), "max": round(max(values), 2)}  # fmt: skip
    out["non_2xx"] = sum(run["non_2xx"] for run in runs)
    out["socket_errors"] = sum(run["socket_errors"] for run in runs)
    if drained := [run["drained_s"] for run in runs if "drained_s" in run]:
        out["backlog_drained_s_max"] = max(drained)  # served after wrk stopped, not counted
    return out


def measure(args: argparse.Namespace, env: dict[str, str], token: str | None) -> dict[str, Any]:
    paths, serials = sample_paths(env["DATABASE_URL"], args.paths)
    files = {
        "livez": (["/livez"], {}),
        "scan_html": (paths, {}),
        "scan_json": (paths, {"accept": "application/json"}),
    }
    if token:
        auth = {"auth": f"Bearer {token}"}
        files["api_verdict"] = ([f"/api/v1/stamps/{s}" for s in serials], auth)
        proved = anchored_serials(env["DATABASE_URL"], args.paths) or serials
        files["api_proof"] = ([f"/api/v1/stamps/{s}/proof" for s in proved], auth)
        if queries := epcis_paths(env["DATABASE_URL"], 2_000):
            files["api_epcis_query"] = (queries, auth)
    written = {}
    for name, (lines, _) in files.items():
        written[name] = WORK / f"paths-{name}.txt"
        written[name].write_text("\n".join(lines) + "\n")
    server = Server(env, args.workers, args.worker_class)
    try:
        wrk(server.port, written["scan_json"], 8, 2)  # warm both workers
        server.settle()
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for _ in range(args.repeat):  # interleaved, so every figure sees the same machine
            for connections in args.connections:
                for name in ("livez", "scan_html", "scan_json"):
                    result = wrk(
                        server.port, written[name], connections, args.duration, **files[name][1]
                    )
                    runs.setdefault(name, {}).setdefault(connections, []).append(result)
                    result["drained_s"] = server.settle()
            for name in API_ROUTES:
                if name in files:
                    result = wrk(server.port, written[name], 32, args.duration, **files[name][1])
                    runs.setdefault(name, {}).setdefault(32, []).append(result)
                    result["drained_s"] = server.settle()
        peak = server.worker_peak_rss_mb()
        verdicts = sample_verdicts(server.port, paths[:: max(1, len(paths) // 50)])
    finally:
        server.stop()
    return {
        "figures": _figures(runs),
        "worker_peak_rss_mb": peak,
        "paths": len(paths),
        "verdicts_of_sampled_stamps": verdicts,
    }


def sample_verdicts(port: int, paths: list[str]) -> dict[str, int]:
    """How many of ``paths`` answer each verdict (a seed whose lots read TAMPERED measures
    something else: every lot's first scan then records the tampering)."""
    from urllib.request import Request, urlopen

    counts: dict[str, int] = {}
    for path in paths:
        request = Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": "application/json"})
        with urlopen(request, timeout=30) as response:
            verdict = json.loads(response.read()).get("verdict", "?")
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def _figures(runs: dict[str, dict[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, by_connections in runs.items():
        figures[name] = {str(c): summarise(r) for c, r in by_connections.items()}
    for name in ("scan_html", "scan_json"):
        for c, summary in figures[name].items():
            ratios = [
                run["rps"] / max(live["rps"], 1e-9)
                for run, live in zip(runs[name][int(c)], runs["livez"][int(c)], strict=True)
            ]
            summary["ratio_to_livez"] = {
                "median": round(statistics.median(ratios), 3),
                "min": round(min(ratios), 3), "max": round(max(ratios), 3),
            }  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", default="8,32,128")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--paths", type=int, default=20_000, help="distinct stamps to scan")
    parser.add_argument("--fresh", action="store_true", help="drop and reseed the database")
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    ensure_wrk()
    backend = "postgresql" if args.database_url else "sqlite"
    url = database_for(args.database_url, args.factor)
    if args.fresh:
        drop(url)
        url = database_for(args.database_url, args.factor)
    env = environment(url)
    seeding = seed(env, args.factor)
    size = database_size(env["DATABASE_URL"])
    token = inspector_token(env)
    result = {
        "backend": backend,
        "factor": args.factor,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "duration_s": args.duration,
        "rate_limit_storage": env["RATELIMIT_STORAGE_URI"],
        # Since 2026-12-05 (issue 21): before, every request came from wrk's one address,
        # so a stamp's later scans in a run were repeat views, not counted or written.
        "clients": "each request from another consumer (X-Forwarded-For, TRUSTED_PROXIES=1)",
        "app": APP,
        "seed": seeding,
        "database_bytes": size,
        **measure(args, env, token),
        "api_measured": token is not None,
    }
    RAW.mkdir(exist_ok=True)
    suffix = "" if args.worker_class == "sync" else f"-{args.worker_class}"
    (RAW / f"scan-{backend}{suffix}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

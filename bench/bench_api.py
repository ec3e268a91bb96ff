"""Inspector API speed: EPCIS capture, EPCIS date-range query p99, FSMA 204 export.

Run from the repository root: ``python -m bench.bench_api [--capture-events 10000]
[--query-events 1000000] [--load-budget 300] [--export-events 1000] [--repeat 3]``.
Writes ``bench/results-raw/api.json`` and prints a table. It calls the services the API
routes call (the routes are thin), on a fresh SQLite database per measurement:

- capture: one EPCIS 2.0 document of N ObjectEvents, validated against the GS1 JSON
  schema (when ../shared/standards is there), stored by event hash ID: events/s.
- query: N captured events bulk-loaded (in the time budget: the size reached is
  reported), then one-day ``GE_eventTime``/``LT_eventTime`` windows, 100 per page: p50, p99.
- export: a lot with N events, as FSMA 204 CSV and XLSX (manifest recorded): seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from bench.bench_mint import HASH, farm, fresh_database
from trace.db import make_engine
from trace.epcis import DEFAULT_CONTEXT, DEFAULT_SCHEMA_PATH, lot_uri
from trace.models import Event, Lot, Product, Role
from trace.models.epcis import CapturedEvent, CapturedIdentifier
from trace.reports.fsma204 import ExportFilter
from trace.services import accounts
from trace.services.epcis_query import EventQuery, query_events
from trace.services.epcis_store import capture
from trace.services.exports import fsma204_export

RESULTS = Path(__file__).resolve().parent / "results-raw" / "api.json"
START = datetime(2025, 1, 1, tzinfo=UTC)
LOAD_CHUNK = 20_000
CTE_KINDS = ("harvest", "cooling", "initial_packing", "shipping", "receiving")


def spread(values: list[float], digits: int = 4) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def with_database(workdir: Path, body: Callable[[Session, Any, int, str], Any]) -> Any:
    """Run ``body(session, inspector, lot_id, lot_class)`` on a fresh database with one farm."""
    url = fresh_database(None, workdir)
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            _, lot_id = farm(session, 1_000_000)
            user = accounts.create_user(
                session, "i@bench.vn", "bench password", Role.INSPECTOR, HASH
            )
            actor = accounts.actor_for(user)
            lot = session.get(Lot, lot_id)
            product = session.get(Product, lot.product_id)  # type: ignore[union-attr]
            return body(session, actor, lot_id, lot_uri(product.gtin, lot.code))  # type: ignore[union-attr]
    finally:
        engine.dispose()
        (workdir / "bench.db").unlink(missing_ok=True)


def object_event(i: int, lot_class: str) -> dict[str, Any]:
    """The i-th generated ObjectEvent: one instance and the lot's class, a minute apart."""
    when = START + timedelta(minutes=i)
    return {
        "type": "ObjectEvent",
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": ("shipping", "receiving", "storing")[i % 3],
        "disposition": "in_transit",
        "epcList": [f"https://id.gs1.org/01/08936001990011/21/B{i:09d}"],
        "readPoint": {"id": "https://id.gs1.org/414/8936001990007"},
        "quantityList": [{"epcClass": lot_class, "quantity": 1, "uom": "KGM"}],
    }


def bench_capture(workdir: Path, count: int, repeat: int) -> dict[str, Any]:
    """Capture one document of ``count`` events, on a fresh database each time."""
    schema = DEFAULT_SCHEMA_PATH if Path(DEFAULT_SCHEMA_PATH).is_file() else None
    seconds: list[float] = []

    def once(session: Session, actor: Any, _lot_id: int, lot_class: str) -> None:
        document = {
            "@context": DEFAULT_CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": START.isoformat().replace("+00:00", "Z"),
            "epcisBody": {"eventList": [object_event(i, lot_class) for i in range(count)]},
        }
        started = time.perf_counter()
        result = capture(session, actor, document, Path(schema) if schema else None)
        seconds.append(time.perf_counter() - started)
        assert result.new == count

    for _ in range(repeat):
        with_database(workdir, once)
    return {
        "events": count,
        "schema_validated": schema is not None,
        "seconds": spread(seconds, 3),
        "events_per_s": round(count / statistics.median(seconds)),
    }


def captured_rows(start: int, stop: int, actor_id: int, lot_class: str) -> Iterator[list[Any]]:
    """Rows of generated captured events (and their identifiers), chunk by chunk."""
    for first in range(start, stop, LOAD_CHUNK):
        events, identifiers = [], []
        for i in range(first, min(first + LOAD_CHUNK, stop)):
            event = object_event(i, lot_class)
            events.append(
                {
                    "id": i + 1,
                    "hash_id": f"ni:///sha-256;{i:064x}?ver=CBV2.0",
                    "event_type": "ObjectEvent",
                    "event_time": START + timedelta(minutes=i),
                    "biz_step": event["bizStep"],
                    "disposition": "in_transit",
                    "document": event,
                    "captured_by_id": actor_id,
                }
            )
            identifier = event["epcList"][0]
            identifiers.append({"event_id": i + 1, "identifier": identifier, "role": "epc"})
        yield [events, identifiers]


def load_events(session: Session, actor_id: int, lot_class: str, count: int, budget: float) -> int:
    """Bulk-load up to ``count`` captured events within ``budget`` seconds; return how many."""
    started, loaded = time.perf_counter(), 0
    for events, identifiers in captured_rows(0, count, actor_id, lot_class):
        session.execute(insert(CapturedEvent), events)
        session.execute(insert(CapturedIdentifier), identifiers)
        session.commit()
        loaded += len(events)
        if time.perf_counter() - started > budget:
            break
    return loaded


def bench_query(
    workdir: Path, count: int, budget: float, queries: int, repeat: int
) -> dict[str, Any]:
    """p50/p99 of one-day date-range queries over ``count`` bulk-loaded captured events."""

    def measure(session: Session, actor: Any, _lot_id: int, lot_class: str) -> dict[str, Any]:
        started = time.perf_counter()
        loaded = load_events(session, actor.user_id, lot_class, count, budget)
        load_s = time.perf_counter() - started
        days = max(1, loaded // (24 * 60) - 1)
        rng = random.Random(204)
        p50s, p99s = [], []
        for _ in range(repeat):
            latencies = []
            for _ in range(queries):
                since = START + timedelta(days=rng.randrange(days))
                query = EventQuery(
                    ge_event_time=since, lt_event_time=since + timedelta(days=1), per_page=100
                )
                began = time.perf_counter()
                page = query_events(session, actor, query)
                latencies.append((time.perf_counter() - began) * 1000)
                assert len(page.events) == 100, (since, len(page.events))
            latencies.sort()
            p50s.append(statistics.median(latencies))
            p99s.append(latencies[int(len(latencies) * 0.99) - 1])
        return {
            "events_requested": count,
            "events_loaded": loaded,
            "load_s": round(load_s, 1),
            "queries_per_repeat": queries,
            "p50_ms": spread(p50s, 2),
            "p99_ms": spread(p99s, 2),
        }

    result: dict[str, Any] = with_database(workdir, measure)
    return result


def lot_events(session: Session, actor: Any, lot_id: int, count: int) -> None:
    """``count`` CTE events on the lot, bulk-inserted, an hour apart."""
    producer_id = session.get(Lot, lot_id).producer_id  # type: ignore[union-attr]
    rows = [
        {
            "lot_id": lot_id,
            "producer_id": producer_id,
            "kind": CTE_KINDS[i % len(CTE_KINDS)],
            "occurred_at": START + timedelta(hours=i),
            "tz_offset_minutes": 420,
            "place": f"Kho {i % 7}",
            "recorded_by_id": actor.user_id,
            "details": {"destination": "Chợ Bình Điền"} if i % 5 == 3 else {},
        }
        for i in range(count)
    ]
    session.execute(insert(Event), rows)
    session.commit()


def bench_export(workdir: Path, count: int, repeat: int) -> dict[str, Any]:
    """FSMA 204 CSV and XLSX of a lot with ``count`` events."""

    def measure(session: Session, actor: Any, lot_id: int, _lot_class: str) -> dict[str, Any]:
        lot_events(session, actor, lot_id, count)
        out: dict[str, Any] = {"events": count}
        for fmt in ("csv", "xlsx"):
            seconds = []
            for _ in range(repeat):
                started = time.perf_counter()
                exported = fsma204_export(session, actor, ExportFilter(lot_id=lot_id), fmt)
                seconds.append(time.perf_counter() - started)
                assert exported.manifest.rows == count
            out[fmt] = {"seconds": spread(seconds, 3), "bytes": len(exported.data)}
        return out

    result: dict[str, Any] = with_database(workdir, measure)
    return result


def table(results: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    capture_, query, export = results["capture"], results["query"], results["export"]
    lines = [
        f"{'measurement':<52} {'median':>10} {'min':>10} {'max':>10}",
        _row(f"EPCIS capture, {capture_['events']:,} events (s)", capture_["seconds"]),
        f"{'  = events/s':<52} {capture_['events_per_s']:>10,}",
        _row(
            f"EPCIS query p50, 1-day window, {query['events_loaded']:,} events (ms)",
            query["p50_ms"],
        ),  # fmt: skip
        _row(
            f"EPCIS query p99, 1-day window, {query['events_loaded']:,} events (ms)",
            query["p99_ms"],
        ),  # fmt: skip
        _row(f"FSMA 204 CSV, lot with {export['events']:,} events (s)", export["csv"]["seconds"]),
        _row(f"FSMA 204 XLSX, lot with {export['events']:,} events (s)", export["xlsx"]["seconds"]),
    ]
    return "\n".join(lines)


def _row(name: str, values: dict[str, float]) -> str:
    return f"{name:<52} {values['median']:>10} {values['min']:>10} {values['max']:>10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capture-events", type=int, default=10_000)
    parser.add_argument("--query-events", type=int, default=1_000_000)
    parser.add_argument("--load-budget", type=float, default=300.0, help="seconds")
    parser.add_argument("--queries", type=int, default=200, help="per repeat")
    parser.add_argument("--export-events", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        results = {
            "backend": "sqlite",
            "capture": bench_capture(workdir, args.capture_events, args.repeat),
            "export": bench_export(workdir, args.export_events, max(args.repeat, 5)),
            "query": bench_query(
                workdir, args.query_events, args.load_budget, args.queries, args.repeat
            ),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\n(raw: {RESULTS})")


if __name__ == "__main__":
    main()

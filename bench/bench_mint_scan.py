"""Scan latency while a farmer mints: one thread scans a stamp over and over, another mints.

Run from the repository root: ``python -m bench.bench_mint_scan [--size 1000000]
[--database-url URL]``. Both threads go through the service (``find_stamp`` +
``record_scan`` + commit for a scan, ``minting.mint_stamps`` for the mint), each with its
own session on the service's engine, in one process. Prints JSON: the mint's seconds and
the scans' count, median, p99 and worst latency while the mint ran.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bench.bench_mint import farm, fresh_database
from stamps import minting
from stamps.identity import StampKey
from stamps.models import Stamp
from stamps.scanning import facts_of_serial, record_scan
from trace.db import make_engine
from trace.models import Lot, Product
from trace.services import lots


def _scanned_stamp(session: Session, actor: Any, product_id: int) -> StampKey:
    """A stamp of a lot other than the one being minted (what a consumer scans)."""
    from datetime import date, timedelta

    new = lots.NewLot(product_id, "SCANNED", date.today() - timedelta(days=1), "100", "kg")
    lot = lots.create_lot(session, actor, new, date.today())
    minting.mint_stamps(session, actor, lot.id, 10, "1")  # type: ignore[arg-type]
    stamp = session.exec(select(Stamp).where(Stamp.lot_id == lot.id)).first()
    product = session.get(Product, product_id)
    assert stamp is not None and product is not None
    return StampKey(product.gtin, lot.code, stamp.serial)


def _room_for(size: int) -> tuple[Any, ...]:
    """Daily-cap room for the run plus the scanned lot (commits before the caps had none)."""
    try:
        from stamps.mint_limits import MintLimits
    except ImportError:
        return ()
    return (MintLimits(stamps_per_day=2 * size),)


def _scan_loop(engine: Any, serial: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            facts = facts_of_serial(session, serial)
            assert facts is not None
            record_scan(session, facts, "bench", "bench-scanner/1.0", None)
            session.commit()
        out.append(time.perf_counter() - started)
        time.sleep(0.01)


def run(base_url: str | None, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(fresh_database(base_url, Path(workdir)))
        with Session(engine, expire_on_commit=False) as session:
            actor, lot_id = farm(session, size * 2)
            lot = session.get(Lot, lot_id)
            assert lot is not None
            key = _scanned_stamp(session, actor, lot.product_id)
        stop, latencies = threading.Event(), []
        scanner = threading.Thread(target=_scan_loop, args=(engine, key.serial, stop, latencies))
        scanner.start()
        time.sleep(0.5)
        idle = len(latencies)
        with Session(engine, expire_on_commit=False) as session:
            started = time.perf_counter()
            minting.mint_stamps(session, actor, lot_id, size, "1", *_room_for(size))
            mint_s = time.perf_counter() - started
        stop.set()
        scanner.join()  # the scan that waited out the mint's lock counts too
        during = latencies[idle:]
        engine.dispose()
    return {
        "stamps": size,
        "mint_s": round(mint_s, 3),
        "idle_scan_median_ms": round(statistics.median(latencies[:idle]) * 1000, 1),
        "scans_during_mint": len(during),
        "median_ms": round(statistics.median(during) * 1000, 1),
        "p99_ms": round(sorted(during)[int(len(during) * 0.99)] * 1000, 1),
        "max_ms": round(max(during) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    args = parser.parse_args()
    backend = "postgresql" if args.database_url else "sqlite"
    print(json.dumps({"backend": backend, "scan_during_mint": run(args.database_url, args.size)}))


if __name__ == "__main__":
    main()

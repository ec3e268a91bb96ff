"""Marketplace sync at province scale: 8,047 products on both sandboxes, clean and under faults.

Run from the repository root: ``python -m bench.bench_marketplace [--products 8047]
[--workers 4] [--worker-processes 0] [--fault-rate 0.10] [--database-url URL]``.

Both sandboxes run as processes of their own (``python -m marketplace.sandbox``), so every
call is real HTTP on 127.0.0.1. The registry is seeded with bulk statements: one producer,
``--products`` products, each with a lot, active stamps (5 to 44) and a listing on both
marketplaces asking for 30 packs, so mass balance caps most listed stock. The sandboxes'
rate limits are lifted (429 handling is covered by the tests); everything else is the
service's own code: the outbox jobs, run by ``--workers`` worker threads
(``trace.jobs.run_worker``) and ``--worker-processes`` ``flask worker --only marketplace.``
processes, and the adapters.

Two rounds, each on fresh sandboxes: *clean*, then *faults* with ``--fault-rate`` of all
requests failing, shared evenly by every kind (latency spikes, 5xx, dropped connections,
timeouts and dropped connections after the write committed). Each round lists every
product (``list``), then changes every price and stock (``reprice``), then checks that
the marketplaces show exactly what we hold: one listing per product and marketplace
(duplicates), the latest price and capped stock (lost updates), nothing failed or missing.
Prints a table (``--json``: JSON); writes JSON to ``bench/results-raw/marketplace.json``.

With ``--province-factor F`` the registry is instead the province ``bench.bench_scan``
seeded at factor F (its database and stamps): the first ``--products`` products with a lot
get listings on both marketplaces, the rounds run, and the listings and their jobs are
deleted again. ``make bench`` runs this, clean round only, at 8,047 products.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from bench.bench_mint import fresh_database
from bench.processes import die_with_parent
from marketplace.models import ListingState, ListingSync
from marketplace.sandbox.admin import AdminClient
from marketplace.sandbox.faults import KINDS
from marketplace.services import JOB_SYNC_LISTING
from stamps.models import Stamp, StampRun
from trace import jobs, province_seed
from trace.app import create_app
from trace.gs1 import gtin_from_company_prefix
from trace.migrate import upgrade
from trace.models import Job, Lot, ProducerStatus, Product, Role
from trace.models.base import utcnow
from trace.services import accounts
from trace.services.producers import ProducerProfile

HASH = "pbkdf2:sha256:1000"
PREFIX = "8936002"  # a 7-digit company prefix leaves room for 100,000 products
WANTED_STOCK, BASE_PRICE = 30, 20_000
READ_TIMEOUT = 1.0  # the adapters give up after this; "timeout after commit" holds 2 s
RESULTS = Path(__file__).parent / "results-raw" / "marketplace.json"


# --- sandboxes as processes ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sandbox(style: str, folder: Path) -> tuple[subprocess.Popen[bytes], AdminClient]:
    """``python -m marketplace.sandbox STYLE`` on a free port; returns it and its admin."""
    port = free_port()
    command = [sys.executable, "-m", "marketplace.sandbox", style, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--db", str(folder / f"{style}.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    admin = AdminClient(f"http://127.0.0.1:{port}", hang_seconds=READ_TIMEOUT * 2)
    deadline = time.monotonic() + 30
    while True:
        try:
            admin.stats()
            return process, admin
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {style} sandbox did not start") from None
            time.sleep(0.1)


# --- the registry, seeded in bulk ---------------------------------------------------------


def seed(session: Session, products: int) -> dict[int, int]:
    """One producer with ``products`` products, each with a lot of active stamps and a
    listing on both marketplaces. :returns: active stamps by product id."""
    admin = accounts.create_user(session, "admin@bench.vn", "bench password", Role.ADMIN, HASH)
    profile = ProducerProfile(
        "HTX Bench", "cooperative", "1100000098", "", "Xã A", "Huyện B", "Long An",
        "0912 345 678", None, PREFIX,
    )  # fmt: skip
    user = accounts.register_producer(
        session, accounts.Registration("f@bench.vn", "bench password", "F", profile), HASH
    )
    accounts.set_producer_status(
        session, accounts.actor_for(admin), user.producer_id, ProducerStatus.APPROVED
    )
    producer, now = user.producer_id, utcnow()
    session.execute(insert(Product), [
        {"producer_id": producer, "name_vi": f"Thanh long ruột đỏ {n}", "category": "fruit",
         "name_en": f"Red dragon fruit {n}", "unit": "kg", "created_at": now,
         "gtin": gtin_from_company_prefix(PREFIX, n + 1)}
        for n in range(products)
    ])  # fmt: skip
    ids = list(session.exec(select(Product.id).order_by(col(Product.id))))
    session.execute(insert(Lot), [
        {"producer_id": producer, "product_id": pid, "code": f"B-{pid}", "unit": "kg",
         "harvest_date": date.today(), "quantity": 1000, "created_at": now}
        for pid in ids
    ])  # fmt: skip
    lot_of = dict(session.exec(select(Lot.product_id, Lot.id)).all())
    session.execute(insert(StampRun), [
        {"lot_id": lot_of[pid], "count": 44, "pack_size": 1, "created_by_id": user.id,
         "created_at": now, "activated_at": now}
        for pid in ids
    ])  # fmt: skip
    run_of = dict(session.exec(select(StampRun.lot_id, StampRun.id)).all())
    stamps = {pid: 5 + pid % 40 for pid in ids}
    rows = [
        {"serial": f"BX{pid:07d}{n:04d}", "lot_id": lot_of[pid], "run_id": run_of[lot_of[pid]],
         "status": "active"}
        for pid in ids for n in range(stamps[pid])
    ]  # fmt: skip
    for start in range(0, len(rows), 20_000):
        session.execute(insert(Stamp), rows[start : start + 20_000])
    session.execute(insert(ListingSync), [
        {"product_id": pid, "producer_id": producer, "marketplace": name, "enabled": True,
         "price_vnd": BASE_PRICE, "stock": WANTED_STOCK, "state": ListingState.SYNCING,
         "attempts": 0, "note": "", "created_at": now, "updated_at": now}
        for pid in ids for name in ("postmart", "voso")
    ])  # fmt: skip
    session.commit()
    return stamps


def list_province(session: Session, products: int) -> int:
    """Listings on both marketplaces for the first ``products`` products that have a lot,
    as farmers would tick them; their stock comes from the province's own stamps."""
    chosen = session.exec(
        select(Product.id, Product.producer_id)
        .where(col(Product.id).in_(select(Lot.product_id)))
        .order_by(col(Product.id))
        .limit(products)
    ).all()
    now = utcnow()
    session.execute(insert(ListingSync), [
        {"product_id": pid, "producer_id": producer, "marketplace": name, "enabled": True,
         "price_vnd": BASE_PRICE, "stock": WANTED_STOCK, "state": ListingState.SYNCING,
         "attempts": 0, "note": "", "created_at": now, "updated_at": now}
        for pid, producer in chosen for name in ("postmart", "voso")
    ])  # fmt: skip
    session.commit()
    return len(chosen)


def unlist_province(session: Session) -> None:
    """Leave the province as it was: no listings, no sync jobs of ours."""
    session.execute(delete(Job).where(col(Job.kind).startswith("marketplace.")))
    session.execute(delete(ListingSync))
    session.commit()


def queue_every_listing(session: Session) -> None:
    """A sync job for every listing, as the outbox writes one per change (in bulk)."""
    listing_ids = session.exec(select(ListingSync.id)).all()
    now = utcnow()
    session.execute(insert(Job), [
        {"kind": JOB_SYNC_LISTING, "payload": {"listing_id": lid}, "status": jobs.QUEUED,
         "attempts": 0, "run_after": now, "created_at": now}
        for lid in listing_ids
    ])  # fmt: skip
    session.commit()
    # What autovacuum does after a bulk change (it is off on this machine's PostgreSQL):
    # planning the claim on statistics of an empty queue, PostgreSQL sorts every queued
    # job on every claim instead of reading the claim index in order.
    province_seed.analyze(session, ["jobs", "marketplace_listings"])
    session.commit()


def reprice(session: Session) -> None:
    """Every listing gets a new price and stock, and its sync job (one transaction)."""
    session.execute(
        update(ListingSync).values(
            price_vnd=ListingSync.price_vnd + 1_000 + ListingSync.product_id % 7,
            stock=ListingSync.stock - 1 - ListingSync.product_id % 3,
            state=ListingState.SYNCING,
        )
    )
    queue_every_listing(session)


def forget_remote(session: Session) -> None:
    """Start over on fresh sandboxes: nothing was ever sent."""
    session.execute(
        update(ListingSync).values(
            external_id=None, sent_content_hash=None, sent_price_vnd=None, sent_stock=None,
            last_error=None, last_synced_at=None, attempts=0, create_tries=0,
            price_vnd=BASE_PRICE, stock=WANTED_STOCK, state=ListingState.SYNCING,
        )
    )  # fmt: skip
    session.commit()


# --- running and checking -----------------------------------------------------------------


class Workers:
    """The service's job workers, running marketplace jobs only, for the whole run.

    ``threads`` run ``trace.jobs.run_worker`` inside this process (one GIL between them);
    ``processes`` are ``flask worker --only marketplace.`` processes, as deployed (they
    never open the chain, so they run beside this process's embedded one).
    """

    def __init__(
        self, app: Flask, url: str, admins: dict[str, AdminClient], threads: int, processes: int
    ) -> None:
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(
                target=jobs.run_worker, args=(app, self.stop),
                kwargs={"idle_seconds": 0.05, "only": ["marketplace."]},
            )
            for _ in range(threads)
        ]  # fmt: skip
        env = {
            **os.environ, "DATABASE_URL": url, "AGRITRACE_ENV": "development",
            "AGRITRACE_INSTANCE": app.instance_path,
            "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
            "MARKETPLACE_SANDBOXES": "0", "POSTMART_URL": admins["postmart"].url,
            "VOSO_URL": admins["voso"].url, "MARKETPLACE_TIMEOUT": str(READ_TIMEOUT),
            "MARKETPLACE_BACKOFF_SECONDS": "0.05", "MARKETPLACE_MAX_ATTEMPTS": "12",
        }  # fmt: skip
        command = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker"]
        command += ["--idle-seconds", "0.05", "--only", "marketplace."]
        self.command, self.env, self.count = command, env, processes
        self.processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Workers:
        for thread in self.threads:
            thread.start()
        try:
            for _ in range(self.count):
                process = subprocess.Popen(
                    self.command, env=self.env, stdout=subprocess.PIPE, text=True,
                    cwd=Path(__file__).resolve().parent.parent, preexec_fn=die_with_parent,
                )  # fmt: skip
                self.processes.append(process)
            for process in self.processes:  # each says so once it is looking for work
                if not (process.stdout and process.stdout.readline().startswith("Worker started")):
                    raise RuntimeError("a flask worker did not start")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def sandbox_requests(admins: dict[str, AdminClient]) -> int:
    return sum(int(admin.stats()["requests"]) for admin in admins.values())


def run_phase(
    session: Session, admins: dict[str, AdminClient], queue: Callable[[Session], None]
) -> dict[str, Any]:
    """Queue the phase's sync jobs (the outbox write is part of it) and wait until the
    running workers have done them all."""
    sent_before, started = sandbox_requests(admins), time.perf_counter()
    queue(session)
    waiting = (
        select(func.count())
        .select_from(Job)
        .where(col(Job.status).in_([jobs.QUEUED, jobs.RUNNING]))
        .where(col(Job.kind).startswith("marketplace."))  # a province may hold other work
    )
    while session.exec(waiting).one():
        session.rollback()
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    sent = sandbox_requests(admins) - sent_before
    listings = session.exec(select(func.count()).select_from(ListingSync)).one()
    return {
        "seconds": round(seconds, 2),
        "requests": sent,
        "requests_per_listing": round(sent / listings, 2),
        "listings_per_second": round(listings / seconds, 1),
    }


def check(
    session: Session, admins: dict[str, AdminClient], stamps: dict[int, int] | None
) -> dict[str, Any]:
    """Compare each marketplace with our records, listing by listing.

    With ``stamps`` (the bench's own farm) the stock shown must be the wanted stock capped
    by the product's active stamps; in a seeded province, the stock we recorded sending
    (the service's mass balance, tested on its own), and we must have sent the latest price.
    """
    rows = session.exec(select(ListingSync)).all()
    skus = dict(session.exec(select(Product.id, Product.gtin)).all())
    states = Counter(row.state for row in rows)
    duplicates = lost = missing = 0
    for name, admin in admins.items():
        shown = admin.listings()
        per_sku = Counter(item["sku"] for item in shown)
        duplicates += sum(count - 1 for count in per_sku.values())
        by_sku = {item["sku"]: item for item in shown}
        for row in (r for r in rows if r.marketplace == name):
            item = by_sku.get(skus[row.product_id])
            if item is None or item["status"] not in ("dang_ban", "NORMAL"):
                missing += 1
                continue
            doc = item["doc"]
            shown_now = (
                doc.get("gia_ban", doc.get("price")),
                doc.get("so_luong", doc.get("stock")),
            )
            capped = row.sent_stock if stamps is None else min(row.stock, stamps[row.product_id])
            if shown_now != (row.price_vnd, capped) or row.sent_price_vnd != row.price_vnd:
                lost += 1
    return {
        "listings": len(rows),
        "listed": states.get(ListingState.LISTED, 0),
        "failed": states.get(ListingState.FAILED, 0),
        "duplicates": duplicates,
        "lost_updates": lost,
        "missing": missing,
        "remote_equals_ours": duplicates == lost == missing == 0
        and states.get(ListingState.LISTED, 0) == len(rows),
    }


def run_round(
    session: Session, admins: dict[str, AdminClient], stamps: dict[int, int] | None,
    fault_rate: float, phases: list[str],
) -> dict[str, Any]:  # fmt: skip
    """List everything, reprice everything (when in ``phases``), then check; on reset
    sandboxes."""
    forget_remote(session)
    for seed, admin in enumerate(admins.values()):
        admin.reset()
        admin.unlimited()
        if fault_rate:
            share = fault_rate / len(KINDS)
            admin.configure(seed=seed, spike_ms=100, rates=dict.fromkeys(KINDS, share))
    result: dict[str, Any] = {"list": run_phase(session, admins, queue_every_listing)}
    if "reprice" in phases:
        result["reprice"] = run_phase(session, admins, reprice)
    result["check"] = check(session, admins, stamps)
    result["faults_injected"] = dict(
        sum((Counter(admin.stats()["faults"]) for admin in admins.values()), Counter())
    )
    return result


def make_app(database_url: str, folder: Path, admins: dict[str, AdminClient]) -> Flask:
    app = create_app({
        "AGRITRACE_ENV": "testing", "TESTING": True, "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(folder / "instance"), "PASSWORD_HASH_METHOD": HASH,
        "PUBLIC_BASE_URL": "https://trace.example.vn", "POSTMART_URL": admins["postmart"].url,
        "VOSO_URL": admins["voso"].url, "MARKETPLACE_TIMEOUT": READ_TIMEOUT,
        "MARKETPLACE_BACKOFF_SECONDS": 0.05, "MARKETPLACE_MAX_ATTEMPTS": 12,
    })  # fmt: skip
    registry = jobs.handlers(app)
    for kind in [kind for kind in registry if not kind.startswith("marketplace.")]:
        del registry[kind]  # chain anchoring is measured by bench_anchor, not here
    return app


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['products']:,} products x 2 marketplaces = {result['listings']:,} listings, "
        f"{result['workers']} worker threads, {result['worker_processes']} worker processes, "
        f"faults {result['fault_rate']:.0%} in the faults round",
        f"{'round':8} {'phase':8} {'seconds':>8} {'requests':>9} "
        f"{'req/listing':>12} {'listings/s':>11}",
    ]
    for name, outcome in result["rounds"].items():
        for phase in [phase for phase in ("list", "reprice") if phase in outcome]:
            p = outcome[phase]
            lines.append(
                f"{name:8} {phase:8} {p['seconds']:8.1f} {p['requests']:9,} "
                f"{p['requests_per_listing']:12.2f} {p['listings_per_second']:11.1f}"
            )
    for name, outcome in result["rounds"].items():
        c = outcome["check"]
        lines.append(
            f"{name}: remote state equals ours: {'YES' if c['remote_equals_ours'] else 'NO'}; "
            f"duplicates {c['duplicates']}, lost updates {c['lost_updates']}, "
            f"missing {c['missing']}, failed {c['failed']}; "
            f"faults injected {outcome['faults_injected']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=8047)
    parser.add_argument("--workers", type=int, default=4, help="worker threads in this process")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="`flask worker --only marketplace.` processes beside them",
    )
    parser.add_argument("--fault-rate", type=float, default=0.10)
    parser.add_argument("--rounds", default="clean,faults", help="which rounds, in order")
    parser.add_argument("--phases", default="list,reprice", help="list, or list,reprice")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument(
        "--province-factor",
        type=float,
        default=None,
        help="list products of the province bench.bench_scan seeded",
    )
    parser.add_argument("--json", action="store_true", help="print JSON only (bench.run)")
    args = parser.parse_args()  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sandboxes = {style: start_sandbox(style, folder) for style in ("postmart", "voso")}
        admins = {style: admin for style, (_, admin) in sandboxes.items()}
        try:
            rounds = run_rounds(args, folder, admins)
        finally:
            for process, _ in sandboxes.values():
                process.terminate()
                process.wait(timeout=10)
    result = {
        "backend": "postgresql" if args.database_url else "sqlite",
        "province_factor": args.province_factor,
        "products": args.products, "listings": args.products * 2, "workers": args.workers,
        "worker_processes": args.worker_processes,
        "fault_rate": args.fault_rate, "rounds": rounds,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(json.dumps(result) if args.json else f"{table(result)}\nJSON: {RESULTS}")
    if not all(outcome["check"]["remote_equals_ours"] for outcome in rounds.values()):
        sys.exit(1)


def run_rounds(
    args: argparse.Namespace, folder: Path, admins: dict[str, AdminClient]
) -> dict[str, Any]:
    """Each round of ``--rounds`` on a database of the bench's own or in the province."""
    rates = {"clean": 0.0, "faults": args.fault_rate}
    phases = args.phases.split(",")
    if args.province_factor is None:
        url = fresh_database(args.database_url, folder)
    else:
        from bench.bench_scan import database_for

        url = database_for(args.database_url, args.province_factor)
        upgrade(url)
    app = make_app(url, folder, admins)
    engine = app.extensions["db_engine"]
    try:
        with Session(engine, expire_on_commit=False) as session:
            stamps: dict[int, int] | None = None
            if args.province_factor is None:
                stamps = seed(session, args.products)
            else:
                unlist_province(session)  # what an interrupted run may have left
                args.products = list_province(session, args.products)  # as many as it has
            try:
                with Workers(app, url, admins, args.workers, args.worker_processes):
                    return {
                        name: run_round(session, admins, stamps, rates[name], phases)
                        for name in args.rounds.split(",")
                    }
            finally:
                if args.province_factor is not None:
                    session.rollback()
                    unlist_province(session)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()

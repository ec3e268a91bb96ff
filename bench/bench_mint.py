"""Minting speed: stamps written per second (rows + the lot's Merkle root), SQLite and PostgreSQL.

Run from the repository root: ``python -m bench.bench_mint [--sizes 100000,1000000]
[--repeat 3] [--database-url URL] [--province-factor F]``. Prints JSON with medians and
spreads. By default each mint goes into a new, empty database. With ``--province-factor``
it goes into the province that ``bench.bench_scan`` seeded at that factor (1.7 million
stamps per unit of factor): each repeat is a new lot of one of the province's farms,
minted through the service as a farmer would. Those lots stay in the province.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from stamps import minting
from trace.db import make_engine
from trace.migrate import upgrade
from trace.models import ProducerStatus, Role
from trace.services import accounts, holdings, lots
from trace.services.producers import ProducerProfile

HASH = "pbkdf2:sha256:1000"


def fresh_database(base_url: str | None, workdir: Path) -> str:
    """A new, migrated database: a SQLite file, or a PostgreSQL database made for the run."""
    if not base_url:
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        admin_url = make_url(base_url).set(drivername="postgresql+psycopg")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "agritrace_bench" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "agritrace_bench"'))
        admin.dispose()
        url = admin_url.set(database="agritrace_bench").render_as_string(hide_password=False)
    upgrade(url)
    return url


def farm(session: Session, quantity: int) -> tuple[Any, int]:
    """An approved producer with one lot big enough for every run."""
    admin = accounts.create_user(session, "admin@bench.vn", "bench password", Role.ADMIN, HASH)
    profile = ProducerProfile(
        "HTX Bench",
        "cooperative",
        "1100000099",
        "",
        "Xã A",
        "Huyện B",
        "Long An",
        "0912 345 678",
        None,
        "893600199",
    )
    user = accounts.register_producer(
        session, accounts.Registration("f@bench.vn", "bench password", "F", profile), HASH
    )
    accounts.set_producer_status(
        session, accounts.actor_for(admin), user.producer_id, ProducerStatus.APPROVED
    )
    actor = accounts.actor_for(user)
    product = holdings.add_product(
        session,
        actor,
        name_vi="Thanh long",
        name_en="Dragon fruit",
        category="fruit",
        unit="kg",
        gtin=None,
    )
    lot = lots.create_lot(
        session,
        actor,
        lots.NewLot(product.id, "B-1", date.today() - timedelta(days=1), str(quantity), "kg"),
        date.today(),
    )
    return actor, lot.id  # type: ignore[return-value]


def run(base_url: str | None, sizes: list[int], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for size in sizes:
            seconds = []
            for _ in range(repeat):
                url = fresh_database(base_url, Path(workdir))
                engine = make_engine(url)  # the service's engine: WAL, pragmas, pool
                with Session(engine, expire_on_commit=False) as session:
                    actor, lot_id = farm(session, size * (repeat + 1))
                    started = time.perf_counter()
                    minting.mint_stamps(session, actor, lot_id, size, "1")
                    seconds.append(time.perf_counter() - started)
                engine.dispose()
                if not base_url:
                    (Path(workdir) / "bench.db").unlink()
            results[str(size)] = summary(size, seconds)
    return results


def summary(size: int, seconds: list[float]) -> dict[str, Any]:
    median = statistics.median(seconds)
    return {
        "median_s": round(median, 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "stamps_per_s": round(size / median),
    }


def run_in_province(base_url: str | None, factor: float, size: int, repeat: int) -> dict[str, Any]:
    """Mint ``size`` stamps into new lots of the seeded province, ``repeat`` times."""
    from bench.bench_scan import database_for
    from trace.models import Lot, Producer, User

    url = database_for(base_url, factor)
    engine = make_engine(url)
    seconds, stamps_before = [], 0
    with Session(engine, expire_on_commit=False) as session:
        stamps_before = session.execute(text("SELECT count(*) FROM stamps")).scalar_one()
        if not stamps_before:
            raise SystemExit(f"no seeded province at factor {factor:g}: run bench.bench_scan first")
        farmer = session.exec(
            select(User)
            .join(Producer, col(Producer.id) == col(User.producer_id))
            .where(Producer.status == ProducerStatus.APPROVED)
            .order_by(col(User.id))
        ).first()
        assert farmer is not None
        actor = accounts.actor_for(farmer)
        product_id = session.exec(
            select(Lot.product_id).where(Lot.producer_id == farmer.producer_id)
        ).first()
        for _ in range(repeat):
            code = f"BENCH-{time.time_ns() % 10**12}"
            new = lots.NewLot(product_id, code, date.today() - timedelta(days=1), str(size), "kg")
            lot = lots.create_lot(session, actor, new, date.today())
            session.commit()
            started = time.perf_counter()
            minting.mint_stamps(session, actor, lot.id, size, "1")  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - started)
    engine.dispose()
    return {
        "factor": factor,
        "stamps_before": stamps_before,
        str(size): summary(size, seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--province-factor", type=float, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backend = "postgresql" if args.database_url else "sqlite"
    if args.province_factor is not None:
        into = run_in_province(args.database_url, args.province_factor, sizes[0], args.repeat)
        print(json.dumps({"backend": backend, "province": into}))
        return
    print(json.dumps({"backend": backend, "mint": run(args.database_url, sizes, args.repeat)}))


if __name__ == "__main__":
    main()

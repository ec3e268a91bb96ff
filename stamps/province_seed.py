"""The scale seed's stamp half and its command: stamps for the facilities' lots, a year of scans.

``flask --app wsgi seed-scale --factor F`` builds a province of ``F`` times Long An's 2023
size: the registry through :mod:`trace.province_seed`, then stamps minted with the minting
module's own bulk writer and Merkle roots, then scans, flags and lot documents, all in
one transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import bindparam, text, update
from sqlmodel import Session

from stamps.identity import new_serials
from stamps.minting import PROCESS_THRESHOLD, _insert_stamps, stamp_root_of
from stamps.models import FlagRule
from stamps.places import PROVINCES, geohash_encode
from stamps.processes import pool_context
from stamps.scanning import client_fingerprint
from trace import province_seed as scale
from trace.db import rows_changed
from trace.models import Lot

SCANNED_SHARE = 0.15  # of active stamps, scanned at least once in the year
LOCATED_SHARE = 0.4  # of scans, sent with the consumer's consent to share a province
VOID_SHARE = 0.01  # of each lot's labels, voided as damaged in a few lots
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 Chrome/126.0 Mobile Safari",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 Chrome/125.0 Mobile",
)
# Where consumers of Long An produce scan: mostly the city next door and the province.
MARKETS = (("TP. Hồ Chí Minh", 45), ("Tây Ninh", 25), ("Đồng Nai", 8), ("Cần Thơ", 7),
           ("Vĩnh Long", 5), ("Hà Nội", 5), ("Đà Nẵng", 3), ("Khánh Hòa", 2))  # fmt: skip


@dataclass
class SeedReport:
    """What a scale seed wrote and how long each part took (seconds)."""

    factor: float
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


@dataclass
class MintedRun:
    """A seeded run: its stamps' ids (contiguous, in serial order) and any voided range."""

    lot_id: int
    run_id: int
    ids: range
    active: bool
    void: range = range(0)


def seed_scale(session: Session, factor: float, seed: int | None = None) -> SeedReport:
    """Seed a province of ``factor`` times Long An in one transaction.

    :param seed: a random seed for a repeatable province (serials stay random).
    :returns: counts and timings.
    :raises trace.province_seed.AlreadySeeded: the database already holds a scale seed.
    :raises ValueError: a factor outside (0, 20].
    """
    plan = scale.ScalePlan.for_factor(factor)
    rng, today, report = random.Random(seed), date.today(), SeedReport(factor)
    with _timed(report, "registry"):
        registry = scale.seed_registry(session, plan, rng, today)
    with _timed(report, "stamps"):
        runs = _mint(session, registry, plan, rng)
    with _timed(report, "scans"):
        report.counts["scans"], report.counts["flags"] = _scan(session, registry, runs, rng)
    with _timed(report, "documents"):
        report.counts["lot_documents"] = scale.write_lot_documents(session, registry)
    with _timed(report, "commit"):
        session.commit()
    report.counts |= {
        "producers": plan.producers,
        "products": len(registry.products),
        "facilities": plan.facilities,
        "lots": len(registry.lots),
        "events": sum(len(group) for group in registry.events.values()),
        "stamps": plan.stamps,
    }
    return report


@contextmanager
def _timed(report: SeedReport, part: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    report.seconds[part] = round(time.perf_counter() - start, 2)


# --- stamps ---------------------------------------------------------------------------


def _mint(
    session: Session, registry: scale.Registry, plan: scale.ScalePlan, rng: random.Random
) -> list[MintedRun]:
    """One run per facility lot, written by the minting module's bulk writer.

    Merkle roots are computed in another process while the database writes (as minting
    does for large runs), once the seed is big enough to pay for the process.
    """
    lot_ids, share = registry.stamped_lot_ids, divmod(plan.stamps, len(registry.stamped_lot_ids))
    counts = [share[0] + (n < share[1]) for n in range(len(lot_ids))]
    first_run = scale.next_ids(session, "stamp_runs")
    active = [rng.random() < 0.9 for _ in lot_ids]
    _write_runs(session, registry, lot_ids, counts, first_run, active)
    pool = (
        ProcessPoolExecutor(max_workers=1, mp_context=pool_context())
        if plan.stamps >= PROCESS_THRESHOLD
        else None
    )
    roots, voids = [], {}
    try:
        for n, (lot_id, count) in enumerate(zip(lot_ids, counts, strict=True)):
            serials = sorted(new_serials(count))
            roots.append(
                pool.submit(stamp_root_of, serials) if pool else _done(stamp_root_of(serials))
            )
            _insert_stamps(session, lot_id, first_run + n, serials)
            if rng.random() < 0.05:
                voids[first_run + n] = _void_range(serials, rng)
        _record_roots(session, registry, lot_ids, counts, [root.result() for root in roots])
    finally:
        if pool is not None:
            pool.shutdown()
    runs = _minted(session, lot_ids, counts, first_run, active)
    _activate(session, first_run, first_run + len(lot_ids) - 1)
    for run in runs:
        if run.run_id in voids:
            _void(session, run, *voids[run.run_id])
    # After the status updates: statistics taken before them tell the planner no stamp is
    # active, and it then counts a product's active stamps with a scan of the whole table.
    scale.analyze(session, ["stamps", "stamp_runs", "lots"])
    scale.sync_sequences(session, ["stamp_runs", "stamps"])
    return runs


def _done(value: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(value)
    return future


def _write_runs(
    session: Session,
    registry: scale.Registry,
    lot_ids: list[int],
    counts: list[int],
    first_run: int,
    active: list[bool],
) -> None:
    rows = []
    for n, (lot_id, count) in enumerate(zip(lot_ids, counts, strict=True)):
        lot = registry.lots[lot_id]
        minted = datetime.combine(lot.harvest_date, datetime.min.time(), UTC) + timedelta(hours=12)
        user = registry.users_by_producer[lot.producer_id]
        pack = scale.pack_size_of(lot.product_id)
        activated = minted + timedelta(hours=6) if active[n] else None
        rows.append((first_run + n, lot_id, count, pack, user, minted, activated))
    columns = ("id", "lot_id", "count", "pack_size", "created_by_id", "created_at", "activated_at")
    scale.bulk_insert(session, "stamp_runs", columns, rows)


def _minted(
    session: Session, lot_ids: list[int], counts: list[int], first_run: int, active: list[bool]
) -> list[MintedRun]:
    """Each run's stamp ids, which a bulk write into an otherwise idle table keeps contiguous."""
    found = {
        run: (low, high, n)
        for run, low, high, n in session.execute(
            text(
                "SELECT run_id, min(id), max(id), count(*) FROM stamps "
                "WHERE run_id BETWEEN :first AND :last GROUP BY run_id"
            ),
            {"first": first_run, "last": first_run + len(lot_ids) - 1},
        )
    }
    runs = []
    for n, (lot_id, count) in enumerate(zip(lot_ids, counts, strict=True)):
        low, high, written = found[first_run + n]
        if written != count or high - low + 1 != count:
            raise RuntimeError(
                f"Stamp ids of run {first_run + n} are not contiguous: "
                "seed a database nobody else writes to."
            )
        runs.append(MintedRun(lot_id, first_run + n, range(low, high + 1), active[n]))
    return runs


def _void_range(serials: list[str], rng: random.Random) -> tuple[int, str, str]:
    """A printed range of damaged labels: its offset in the run, first and last serial."""
    length = max(1, int(len(serials) * VOID_SHARE))
    start = rng.randrange(0, len(serials) - length + 1)
    return start, serials[start], serials[start + length - 1]


def _void(session: Session, run: MintedRun, start: int, first: str, last: str) -> None:
    result = session.execute(
        text(
            "UPDATE stamps SET status = 'void' "
            "WHERE lot_id = :lot AND serial BETWEEN :first AND :last"
        ),
        {"lot": run.lot_id, "first": first, "last": last},
    )
    # Serial order is id order within a run, so the voided labels are an id range.
    run.void = range(run.ids.start + start, run.ids.start + start + rows_changed(result))


def _record_roots(
    session: Session,
    registry: scale.Registry,
    lot_ids: list[int],
    counts: list[int],
    roots: list[bytes],
) -> None:
    for lot_id, count, root in zip(lot_ids, counts, roots, strict=True):
        registry.lots[lot_id].stamp_root, registry.lots[lot_id].stamp_count = root.hex(), count
    statement = (
        update(Lot.__table__)  # type: ignore[attr-defined]
        .where(Lot.__table__.c.id == bindparam("lot"))  # type: ignore[attr-defined]
        .values(stamp_root=bindparam("root"), stamp_count=bindparam("n"))
    )
    session.connection().execute(
        statement,
        [
            {"lot": lot_id, "root": root.hex(), "n": count}
            for lot_id, count, root in zip(lot_ids, counts, roots, strict=True)
        ],
    )


def _activate(session: Session, first_run: int, last_run: int) -> None:
    """Stamps of the runs a facility applied to product become active."""
    session.execute(
        text(
            "UPDATE stamps SET status = 'active' WHERE status = 'issued' AND run_id IN "
            "(SELECT id FROM stamp_runs WHERE id BETWEEN :first AND :last "
            "AND activated_at IS NOT NULL)"
        ),
        {"first": first_run, "last": last_run},
    )


# --- scans ----------------------------------------------------------------------------


def _scan(
    session: Session, registry: scale.Registry, runs: list[MintedRun], rng: random.Random
) -> tuple[int, int]:
    """A year of consumer scans with repeats, copied labels and scans of void labels.

    :returns: how many scans and flags were written.
    """
    flags: list[tuple[Any, ...]] = []
    first_scan = scale.next_ids(session, "scans")
    salt = rng.randbytes(16).hex()
    rows = _scan_rows(registry, runs, rng, salt, first_scan, flags)
    columns = ("id", "stamp_id", "scanned_at", "client_hash", "user_agent", "province", "geohash")
    scans = scale.bulk_insert(session, "scans", columns, rows)
    first_flag = scale.next_ids(session, "stamp_flags")
    flag_rows = [(first_flag + n, *flag) for n, flag in enumerate(flags)]
    scale.bulk_insert(
        session, "stamp_flags", ("id", "stamp_id", "rule", "detail", "created_at"), flag_rows
    )
    scale.analyze(session, ["scans", "stamp_flags"])
    _update_counters(session)
    scale.sync_sequences(session, ["scans", "stamp_flags"])
    return scans, len(flags)


def _scan_rows(
    registry: scale.Registry,
    runs: list[MintedRun],
    rng: random.Random,
    salt: str,
    next_id: int,
    flags: list[tuple[Any, ...]],
) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    markets, weights = zip(*MARKETS, strict=True)
    for run in runs:
        lot = registry.lots[run.lot_id]
        since = datetime.combine(lot.harvest_date, datetime.min.time(), UTC) + timedelta(days=1)
        void = set(run.void)
        for stamp_id in _scanned(run, rng):
            scans = _visits(stamp_id in void, since, now, rng, markets, weights)
            for when, province in scans:
                client = client_fingerprint(salt, f"10.{stamp_id % 250}.{rng.randrange(4)}.7")
                geohash = _geohash(province, rng) if province else None
                yield next_id, stamp_id, when, client, rng.choice(AGENTS), province, geohash
                next_id += 1
            flag = _flag_for(stamp_id in void, scans, next_id - 1)
            if flag is not None:
                flags.append((stamp_id, *flag, scans[-1][0]))


def _scanned(run: MintedRun, rng: random.Random) -> list[int]:
    """The stamps of a run consumers scanned: a share of active ones, a fifth of void ones."""
    chosen = []
    if run.active:
        share = min(1.0, SCANNED_SHARE * rng.uniform(0.5, 1.5))
        chosen = rng.sample(run.ids, int(len(run.ids) * share))
    void = rng.sample(run.void, len(run.void) // 5)
    return sorted(set(chosen) | set(void))


def _visits(
    void: bool,
    since: datetime,
    now: datetime,
    rng: random.Random,
    markets: tuple[str, ...],
    weights: tuple[int, ...],
) -> list[tuple[datetime, str | None]]:
    """When and where one stamp was scanned: mostly once, often again, rarely copied."""
    first = since + (now - since) * rng.random() * 0.95
    roll = rng.random()
    if not void and roll < 0.004:  # a copied label: two cities within the hour
        return [(first, "TP. Hồ Chí Minh"), (first + timedelta(minutes=40), "Hà Nội")]
    if not void and roll < 0.005:  # a label photocopied onto a whole shelf
        times = 51 + rng.randrange(30)
    else:
        times = rng.choices((1, 2, 3, 4, 5), weights=(72, 18, 5, 3, 2))[0]
    province = rng.choices(markets, weights)[0] if rng.random() < LOCATED_SHARE else None
    moments = sorted(min(now, first + timedelta(hours=rng.uniform(0, 72))) for _ in range(times))
    return [(when, province if n == 0 else None) for n, when in enumerate(moments)]


def _flag_for(
    void: bool, scans: list[tuple[datetime, str | None]], last_scan_id: int
) -> tuple[str, dict[str, Any]] | None:
    """The rule the scan log's clone checks would have fired for these scans, if any."""
    if void:
        return FlagRule.VOID_SCAN.value, {"scan_id": last_scan_id}
    if len(scans) > scale.SCAN_THRESHOLD:
        return FlagRule.SCAN_THRESHOLD.value, {
            "scans": len(scans),
            "threshold": scale.SCAN_THRESHOLD,
        }
    if len(scans) == 2 and scans[0][1] and scans[1][1] and scans[0][1] != scans[1][1]:
        detail = {"from": scans[0][1], "to": scans[1][1], "km": 1_140, "minutes": 40}
        return FlagRule.IMPOSSIBLE_TRAVEL.value, detail
    return None


def _geohash(province: str, rng: random.Random) -> str | None:
    if rng.random() < 0.5:
        return None
    lat, lon = PROVINCES[province]
    return geohash_encode(lat + rng.uniform(-0.1, 0.1), lon + rng.uniform(-0.1, 0.1), 5)


def _update_counters(session: Session) -> None:
    """Each scanned stamp's counters and flag, set-based from the scan log."""
    session.execute(
        text(
            "UPDATE stamps SET "
            "scan_count = (SELECT count(*) FROM scans WHERE scans.stamp_id = stamps.id), "
            "first_scan_at = (SELECT min(scanned_at) FROM scans WHERE scans.stamp_id = stamps.id), "
            "first_scan_province = (SELECT province FROM scans WHERE scans.stamp_id = stamps.id "
            "AND province IS NOT NULL ORDER BY scanned_at, id LIMIT 1) "
            "WHERE id IN (SELECT stamp_id FROM scans)"
        )
    )
    session.execute(
        text("UPDATE stamps SET flagged = true WHERE id IN (SELECT stamp_id FROM stamp_flags)")
    )


# --- the command ----------------------------------------------------------------------


@click.command("seed-scale")
@click.option(
    "--factor",
    type=float,
    default=1.0,
    show_default=True,
    help="Times Long An's 2023 size: 0.01 for tests, 1 for Long An, 10 province-wide.",
)
@click.option("--seed", type=int, default=None, help="Random seed for a repeatable province.")
@click.option("--force", is_flag=True, help="Seed even in production.")
@with_appcontext
def seed_scale_command(factor: float, seed: int | None, force: bool) -> None:
    """Seed a realistic province for benchmarks (refuses when one is already there)."""
    from trace.dashboard.jobs import fold_registered
    from trace.db import get_session

    if current_app.config["AGRITRACE_ENV"] == "production" and not force:
        raise click.ClickException(
            "Refusing to seed a benchmark province in production (use --force)."
        )
    try:
        report = seed_scale(get_session(), factor, seed)
    except (scale.AlreadySeeded, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Seeded {factor:g} x Long An in {report.total_seconds:.1f} s:")
    for name, count in report.counts.items():
        click.echo(f"  {name:<14} {count:>12,}")
    click.echo("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
    # The dashboard would count every seeded scan live until the worker's first fold.
    started = time.perf_counter()
    fold_registered(get_session())
    click.echo(f"  dashboard rollups folded in {time.perf_counter() - started:.1f} s")

"""Anchor a whole seeded province in one round: transactions, gas and wall time (issue 7).

Run from the repository root, after ``bench.bench_scan`` has seeded the province::

    python -m bench.bench_province_round [--factor 1] [--database-url postgresql+psycopg://...]

Uses the same database and instance folder (so the same embedded chain) as the scan
benchmark, and the service's own code: ``prepare_round`` with no leaf limit, then
``send_round``. Once the province is anchored, the scan benchmark's proof-bundle figures
measure real proofs instead of "not anchored yet" answers. A province already anchored
is reported as such, not anchored twice.

Then the integrity sweep runs as a deployment runs it after midnight: ``flask --app wsgi
integrity --processes 2`` (two processes, as two ``flask worker`` processes take the
sweep's slices), timed from the command's start (its app start-up and the spawned
checkers' included). It shares every intact lot's story for today, so the scan benchmark
that follows measures a swept province, the steady state of a day. The stories already
shared for today before the sweep are counted too: none on a fresh seed (the midnight
sweep, which writes every lot's story), all of them when the seed was swept earlier the
same day.

Last, ``flask --app wsgi proof-trees --processes 2`` stores every anchored lot's stamp
tree on the host (the instance folder's ``proof-trees``) that minting did not store (a
seeded province's lots), timed the same way: the proof benchmark then meets a host whose
first proof of a lot builds nothing. Reported under ``proof_trees``. Prints JSON and writes
``bench/results-raw/province-round-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import date
from typing import Any

from sqlalchemy import Date, bindparam, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

from bench.bench_scan import RAW, database_for, environment, flask, seed

#: The sweep as a deployment with two worker processes runs it.
SWEEP = ("integrity", "--processes", "2")
#: The host's stamp trees filled as a deployment with two worker processes fills them.
PROOF_TREES = ("proof-trees", "--processes", "2")
_SHARED_ON = text("SELECT count(*) FROM verified_lot_stories WHERE day = :day").bindparams(
    bindparam("day", type_=Date)
)


def analyze_round(session: Session) -> None:
    """Planner statistics after the round, as autovacuum would take after its updates.

    The round sets ``round_id`` on every lot document at once; with statistics from
    before it, PostgreSQL believes one round holds a handful of documents and reads a
    lot's anchor through the round's index (94,077 entries at factor 10, ~4 ms a scan)
    instead of the lot's. This machine's PostgreSQL runs with autovacuum off.
    """
    from trace import province_seed as scale

    scale.analyze(session, ["lot_documents", "anchor_rounds"])
    session.commit()


def anchor_province(database_url: str) -> dict[str, Any]:
    """One round over every lot document not yet in a round; figures from its receipt."""
    from trace.anchoring.rounds import prepare_round, send_round
    from trace.app import close_app, create_app
    from trace.models import AnchorRound, LotDocument, RoundStatus

    env = environment(database_url)
    settings = ("AGRITRACE_ENV", "DATABASE_URL", "PUBLIC_BASE_URL")
    app = create_app({**{k: env[k] for k in settings}, "INSTANCE_PATH": env["AGRITRACE_INSTANCE"]})
    try:
        with app.app_context(), Session(app.extensions["db_engine"]) as session:
            waiting = session.exec(
                select(func.count())
                .select_from(LotDocument)
                .where(col(LotDocument.round_id).is_(None))
            ).one()
            lots = session.exec(select(func.count(func.distinct(LotDocument.lot_id)))).one()
            if not waiting:
                analyze_round(session)
                confirmed = session.exec(
                    select(func.count())
                    .select_from(AnchorRound)
                    .where(AnchorRound.status == RoundStatus.CONFIRMED)
                ).one()
                return {"reused": True, "lots": lots, "confirmed_rounds": confirmed}
            started = time.perf_counter()
            anchor = prepare_round(session, max_leaves=int(waiting))
            assert anchor is not None
            prepared = time.perf_counter()
            send_round(session, app.extensions["chain"], anchor, 1)
            sent = time.perf_counter()
            session.refresh(anchor)
            analyze_round(session)
            return {
                "reused": False,
                "lots": lots,
                "leaves": anchor.leaf_count,
                "transactions": 1,
                "status": anchor.status,
                "gas_used": anchor.gas_used,
                "prepare_s": round(prepared - started, 2),
                "send_and_confirm_s": round(sent - prepared, 2),
                "total_s": round(sent - started, 2),
            }
    finally:
        close_app(app)


def vacuum_seeded(database_url: str) -> float | None:
    """``VACUUM (ANALYZE)`` of the tables every scan reads, on PostgreSQL, as autovacuum
    would after the seed: its bulk updates leave as many dead rows in ``stamps`` as live
    ones (14.7 M beside 17.1 M at factor 10), which every scan's index look-up then steps
    over, and this machine's PostgreSQL runs with autovacuum off. Since migration 0022 each
    event seeded also raises its lot's and producer's story version: 340,845 dead rows
    beside 94,077 lots at factor 10 (89 MB: one scan's lot look-up read 7 pages, 4 after
    the vacuum). Returns the seconds it took (None on SQLite)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")  # not in a transaction
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE) stamps, lots, producers"))
    finally:
        engine.dispose()
    return round(time.perf_counter() - started, 1)


def sweep_province(database_url: str) -> dict[str, Any]:
    """Run and time the integrity sweep (:data:`SWEEP`): lots checked, tampered, lots/s."""
    today = date.today()  # the day the sweep and the scans key the shared stories by
    before = _shared_on(database_url, today)
    started = time.perf_counter()
    done = flask(environment(database_url), *SWEEP)
    seconds = time.perf_counter() - started
    summary = re.search(r"(\d+) lots checked, (\d+) tampered", done.stdout)
    if summary is None:  # exit status 1 with a summary is a finding (tampering), not a failure
        raise SystemExit(f"integrity sweep failed:\n{(done.stderr or done.stdout)[-2000:]}")
    checked, tampered = int(summary[1]), int(summary[2])
    return {
        "command": "flask --app wsgi " + " ".join(SWEEP),
        "processes": 2,
        "lots_checked": checked,
        "tampered": tampered,
        "seconds": round(seconds, 1),
        "lots_per_s": round(checked / seconds, 1),
        "day": today.isoformat(),
        "stories_shared_before": before,
        "stories_shared_after": _shared_on(database_url, today),
    }


def store_proof_trees(database_url: str) -> dict[str, Any]:
    """Run and time :data:`PROOF_TREES`: lots whose trees were stored, lots already stored."""
    started = time.perf_counter()
    done = flask(environment(database_url), *PROOF_TREES)
    seconds = time.perf_counter() - started
    summary = re.search(r"(\d+) lots stored, (\d+) skipped as present", done.stdout)
    if done.returncode or summary is None:
        raise SystemExit(f"proof-trees failed:\n{(done.stderr or done.stdout)[-2000:]}")
    return {
        "command": "flask --app wsgi " + " ".join(PROOF_TREES),
        "lots_stored": int(summary[1]),
        "lots_present": int(summary[2]),
        "seconds": round(seconds, 1),
    }


def _shared_on(database_url: str, day: date) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(_SHARED_ON, {"day": day}).scalar_one())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    args = parser.parse_args()
    backend = "postgresql" if args.database_url else "sqlite"
    url = database_for(args.database_url, args.factor)
    seeding = seed(environment(url), args.factor)
    result = {
        "backend": backend,
        "factor": args.factor,
        "chain": "embedded (py-evm via eth-tester)",
        "seed": seeding,
        **anchor_province(url),
        "vacuum_stamps_s": vacuum_seeded(url),
        "sweep": sweep_province(url),
        "proof_trees": store_proof_trees(url),
    }
    RAW.mkdir(exist_ok=True)
    (RAW / f"province-round-{backend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Anchor a whole seeded province in one round: transactions, gas and wall time (issue 7).

Run from the repository root, after ``bench.bench_scan`` has seeded the province::

    python -m bench.bench_province_round [--factor 1] [--database-url postgresql+psycopg://...]

Uses the same database and instance folder (so the same embedded chain) as the scan
benchmark, and the service's own code: ``prepare_round`` with no leaf limit, then
``send_round``. Once the province is anchored, the scan benchmark's proof-bundle figures
measure real proofs instead of "not anchored yet" answers. A province already anchored
is reported as such, not anchored twice. Prints JSON and writes
``bench/results-raw/province-round-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlmodel import Session, col, func, select

from bench.bench_scan import RAW, database_for, environment, seed


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
    }
    RAW.mkdir(exist_ok=True)
    (RAW / f"province-round-{backend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

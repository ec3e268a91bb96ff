"""The proof benchmark asks only for stamps that have proofs (minted before the round)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session

from bench.bench_scan import anchored_serials, sample_paths
from stamps.province_seed import seed_scale


def test_stamps_minted_after_the_last_round_are_left_out(
    database_url: str, session: Session
) -> None:
    seed_scale(session, 0.002, seed=3)
    assert anchored_serials(database_url, 500) == []  # no round confirmed yet
    now = datetime.now(UTC)
    session.execute(
        text(
            "INSERT INTO anchor_rounds (root, leaf_count, status, attempts, created_at,"
            " confirmed_at) VALUES (:root, 1, 'confirmed', 1, :now, :now)"
        ),
        {"root": "ab" * 32, "now": now},
    )
    late = session.execute(text("SELECT min(run_id) FROM stamps")).scalar_one()
    session.execute(
        text("UPDATE stamp_runs SET created_at = :t WHERE id = :run"),
        {"t": now + timedelta(hours=1), "run": late},
    )
    session.commit()
    late_serials = set(
        session.execute(text("SELECT serial FROM stamps WHERE run_id = :r"), {"r": late}).scalars()
    )
    every = set(sample_paths(database_url, 500)[1])
    anchored = set(anchored_serials(database_url, 500))
    assert every & late_serials  # the scan sample still holds the late run's stamps
    assert anchored and not anchored & late_serials
    assert anchored == every - late_serials

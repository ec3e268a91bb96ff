"""The proof benchmark asks only for stamps that have proofs (minted before the round)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text
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
    random.seed(7)  # each call draws its offset: the same one for both samples here
    every = set(sample_paths(database_url, 500)[1])
    random.seed(7)
    anchored = set(anchored_serials(database_url, 500))
    assert every & late_serials  # the scan sample still holds the late run's stamps
    assert anchored and not anchored & late_serials
    assert anchored == every - late_serials


def test_each_run_samples_other_stamps_and_leaves_out_stamps_scanned_often(
    database_url: str, session: Session
) -> None:
    """A run scans each stamp of its sample ~10 times: repeated runs on one database must
    not push the same stamps past the clone rules' limit (their scans would be flagged)."""
    seed_scale(session, 0.002, seed=3)
    samples = [set(sample_paths(database_url, 100)[1]) for _ in range(4)]
    assert len(set.union(*samples)) > len(samples[0])  # not the same stamps every time
    often = set(session.execute(text("SELECT serial FROM stamps ORDER BY id LIMIT 400")).scalars())
    session.execute(
        text("UPDATE stamps SET scan_count = 20 WHERE serial IN :s").bindparams(
            bindparam("s", expanding=True)
        ),
        {"s": list(often)},
    )
    session.commit()
    later = set.union(*(set(sample_paths(database_url, 100)[1]) for _ in range(4)))
    assert later and not later & often


def test_the_province_round_vacuums_the_seeded_stamps_outside_a_transaction(
    database_url: str, session: Session
) -> None:
    """PostgreSQL refuses VACUUM inside a transaction block; SQLite has nothing to do."""
    from bench.bench_province_round import vacuum_seeded

    seed_scale(session, 0.002, seed=3)
    session.commit()
    seconds = vacuum_seeded(database_url)
    if database_url.startswith("postgresql"):
        assert seconds is not None and seconds >= 0
        dead = session.execute(
            text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'stamps'")
        ).scalar_one()
        assert dead == 0
    else:
        assert seconds is None

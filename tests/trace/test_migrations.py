"""The schema exists only through Alembic, and the models agree with it."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from trace.migrate import alembic_config


def test_models_match_the_migrated_schema(database_url: str) -> None:
    command.check(alembic_config(database_url))  # raises when autogenerate finds a change


def test_downgrade_to_nothing_and_back(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "heads")
    assert {"producers", "lots", "events", "stamps", "jobs"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_stamps_pages_keep_room_for_scan_counts(database_url: str) -> None:
    """PostgreSQL packs stamps to 90 %: a scan's count update stays on its page (HOT)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no fillfactor")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'stamps'")
        ).scalar_one()
    engine.dispose()
    assert options is not None and "fillfactor=90" in options


def test_sqlite_scans_keep_their_ids_and_never_reuse_one_after_0021(database_url: str) -> None:
    """0021 rebuilds SQLite's scans with AUTOINCREMENT: ids, places and indexes kept, and no
    later insert takes an id at or below the highest ever given (reservations rely on it)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's scans keep their sequence: 0021 changes nothing there")
    config = alembic_config(database_url)
    command.downgrade(config, "0020")
    engine = create_engine(database_url)
    with engine.begin() as conn:  # the migration env does not enforce foreign keys either
        for scan_id in (3, 9):
            conn.execute(
                text(
                    "INSERT INTO scans (id, stamp_id, scanned_at, client_hash, user_agent) "
                    "VALUES (:id, 1, '2026-12-05 08:00:00.000000', 'c', 'ua')"
                ),
                {"id": scan_id},
            )
        conn.execute(text("DELETE FROM scans WHERE id = 9"))  # a plain table reuses 9
    command.upgrade(config, "heads")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id FROM scans")).scalars().all() == [3]
        assert {ix["name"] for ix in inspect(conn).get_indexes("scans")} == {
            "ix_scans_province",
            "ix_scans_scanned_at",
            "ix_scans_stamp_client_time",
        }
        conn.execute(text("UPDATE sqlite_sequence SET seq = 40 WHERE name = 'scans'"))
        new = conn.execute(
            text(
                "INSERT INTO scans (stamp_id, scanned_at, client_hash, user_agent) "
                "VALUES (1, '2026-12-05 08:01:00.000000', 'd', 'ua') RETURNING id"
            )
        ).scalar_one()
    engine.dispose()
    assert new == 41  # above the reserved floor, not max(id) + 1

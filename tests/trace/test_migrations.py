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

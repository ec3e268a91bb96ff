"""The schema exists only through Alembic, and the models agree with it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

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

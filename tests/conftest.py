"""Fixtures shared by the whole suite: a migrated database per test, the app and clients.

The database is SQLite by default; with ``TEST_DATABASE_URL`` set to a PostgreSQL URL
every xdist worker gets a database of its own, migrated once and truncated per test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trace.app import close_app, create_app
from trace.migrate import upgrade

FAST_HASH = "pbkdf2:sha256:1000"
pytest_plugins = ["tests.registry_fixtures"]


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """A migrated database: a SQLite file to copy, or a PostgreSQL URL to truncate."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        path = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite:///{path}")
        return str(path)
    url = make_url(base).set(drivername="postgresql+psycopg")
    # TEST_DB_TAG lets two suites share one server (each gets its own databases).
    tag = re.sub(r"[^a-z0-9]", "", os.environ.get("TEST_DB_TAG", "").lower())
    name = f"agritrace_test_{tag}{re.sub(r'[^a-z0-9]', '', worker_id)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    return test_url


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if database_template.startswith("postgresql"):
        _truncate_all(database_template)
        yield database_template
        return
    path = tmp_path / "agritrace.db"
    shutil.copyfile(database_template, path)
    yield f"sqlite:///{path}"


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for a test app; tests may change them before using ``app``."""
    return {
        "AGRITRACE_ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "PUBLIC_BASE_URL": "https://trace.example.vn",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    yield application
    close_app(application)  # the embedded chain holds a lock file in the instance folder


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# --- speed tiers ------------------------------------------------------------------------
# Every test gets one marker, so `pytest -m unit` is the seconds-long inner loop and
# `make test` (no -m) still runs everything:
#   unit         no database, no server, no subprocess;
#   integration  a migrated database (the app, session and client fixtures), or a real
#                process such as anvil or a sandbox server;
#   drills       fault drills: killed workers, restarted databases, hostile servers;
#   e2e          a browser against a live server.
# A test may set its tier itself with @pytest.mark.<tier>; otherwise it comes from where the
# test lives and which fixtures it uses.
TIERS = ("unit", "integration", "drills", "e2e")
# Fixtures that need a database or start a server or process.
_INTEGRATION_FIXTURES = frozenset(
    {"database_template", "database_url", "sandbox_servers", "anchored_lot", "anvil_url"}
)
_DRILL_FILES = frozenset({"tests/security/test_hostile_server.py"})
# Modules whose tests start processes (python -m ..., solc, node, worker pools) themselves.
_INTEGRATION_FILES = frozenset(
    f"tests/{name}.py"
    for name in (
        "bench/test_processes", "bench/test_settle", "chain/test_contract",
        "chain/test_embedded", "chain/test_merkle", "chain/test_rpc_anvil", "chain/test_verify",
        "security/test_headers", "security/test_json_nesting", "stamps/test_processes",
        "stamps/test_render_labels", "trace/test_import_shadowing",
    )
)  # fmt: skip
_ROOT = Path(__file__).resolve().parent.parent


def tier_of(item: pytest.Item) -> str:
    """The speed tier of a collected test (see above)."""
    for marker in item.iter_markers():
        if marker.name in TIERS:
            return marker.name
    where = Path(str(item.path)).resolve().relative_to(_ROOT).as_posix()
    if where.startswith("tests/drills/") or where in _DRILL_FILES:
        return "drills"
    if where.startswith("tests/e2e/"):
        return "e2e"
    fixtures = set(getattr(item, "fixturenames", ()))
    if where in _INTEGRATION_FILES or fixtures & _INTEGRATION_FIXTURES:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier_of(item))

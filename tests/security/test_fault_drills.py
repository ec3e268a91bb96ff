"""Fault drills: a damaged embedded chain stops the service at start; a full disk loses nothing."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import event, text
from sqlmodel import Session, select

from chain.embedded import EMBEDDED_CHAIN_ID, EmbeddedChainClient
from chain.merkle import leaf_value_for
from tests.registry_fixtures import Farm
from trace.models import AnchorRound, Plot, RoundStatus
from trace.web.errors import DISK_FULL_HINT, DISK_FULL_TITLE, UNAVAILABLE_HINT

# --- the embedded chain's files are damaged --------------------------------------------


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``serve`` started: the worker and the web server are recorded, not run."""
    calls: list[str] = []
    monkeypatch.setattr("trace.jobs.start_worker_thread", lambda *a, **k: calls.append("worker"))
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *a, **k: calls.append("web"))
    return calls


@pytest.fixture
def chain_dir(app: Flask) -> Iterator[Path]:
    """The app's embedded chain with one anchor on it, closed as after a clean stop."""
    data_dir = Path(app.instance_path) / "chain"
    client = EmbeddedChainClient(data_dir)
    client.deploy_if_needed()
    client.anchor(leaf_value_for("round-1"), 1)
    client.close()
    yield data_dir
    app.extensions["chain"].close()


def serve(app: Flask) -> Any:
    return app.test_cli_runner().invoke(args=["serve", "--port", "5999"])


def test_serve_starts_over_a_healthy_chain_store(app: Flask, chain_dir: Path, started) -> None:  # type: ignore[no-untyped-def]
    result = serve(app)
    assert result.exit_code == 0, result.output
    assert started == ["worker", "web"]


def truncate(data_dir: Path) -> None:
    store = data_dir / "chain.sqlite3"
    with open(store, "r+b") as fh:
        fh.truncate(store.stat().st_size // 2)


def overwrite_with_garbage(data_dir: Path) -> None:
    (data_dir / "chain.sqlite3").write_bytes(os.urandom(8192))


def remove_store(data_dir: Path) -> None:
    (data_dir / "chain.sqlite3").unlink()


@pytest.mark.parametrize("damage", [truncate, overwrite_with_garbage, remove_store])
def test_serve_refuses_a_damaged_chain_store_and_says_how_to_recover(
    app: Flask, chain_dir: Path, started: list[str], damage: Callable[[Path], None]
) -> None:
    damage(chain_dir)
    result = serve(app)
    assert result.exit_code == 1
    assert "refusing to start: embedded chain store unusable" in result.output
    assert f"restore the whole directory {chain_dir} from a backup" in result.output
    assert "Traceback" not in result.output
    assert started == []  # neither the worker nor the web server ran


@pytest.mark.parametrize("only", [[], ["--only", "anchoring."]])
def test_the_worker_refuses_a_damaged_chain_store_too(
    app: Flask, chain_dir: Path, monkeypatch: pytest.MonkeyPatch, only: list[str]
) -> None:
    ran: list[str] = []  # were the check to let it through, the loop is recorded, not run
    monkeypatch.setattr("trace.jobs.run_worker", lambda *a, **k: ran.append("worker"))
    truncate(chain_dir)
    result = app.test_cli_runner().invoke(args=["worker", *only])
    assert result.exit_code == 1
    assert "refusing to start: embedded chain store unusable" in result.output
    assert ran == [] and "Worker started" not in result.output


def test_a_worker_of_jobs_that_never_touch_the_chain_does_not_open_it(
    app: Flask, chain_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr("trace.jobs.run_worker", lambda *a, **k: ran.append("worker"))
    truncate(chain_dir)
    result = app.test_cli_runner().invoke(args=["worker", "--only", "marketplace."])
    assert result.exit_code == 0, result.output
    assert ran == ["worker"] and "Worker started for marketplace." in result.output
    assert "refusing" not in result.output


def test_a_deleted_chain_is_not_silently_replaced_when_anchors_were_recorded(
    app: Flask, session: Session, started: list[str]
) -> None:
    session.add(
        AnchorRound(
            root="ab" * 32, leaf_count=1, status=RoundStatus.CONFIRMED, chain_id=EMBEDDED_CHAIN_ID
        )
    )
    session.commit()
    result = serve(app)  # the instance has no chain directory at all
    assert result.exit_code == 1
    assert "missing but anchors were recorded on it" in result.output
    assert not (Path(app.instance_path) / "chain" / "chain.sqlite3").exists()
    assert started == []


def test_a_first_start_creates_the_chain(app: Flask, started: list[str]) -> None:
    result = serve(app)
    assert result.exit_code == 0, result.output
    assert (Path(app.instance_path) / "chain" / "chain.sqlite3").exists()
    app.extensions["chain"].close()


# --- the disk under the database fills ------------------------------------------------


class FullDisk:
    """Between ``fill()`` and ``free()`` every write fails as SQLite's do on a full disk."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.listener = self._refuse_writes  # one bound method, so it can be removed again

    def fill(self) -> None:
        event.listen(self.engine, "do_execute", self.listener)

    def _refuse_writes(self, cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            if self.engine.dialect.name == "postgresql":  # as PostgreSQL says it (53100)
                from psycopg.errors import DiskFull

                raise DiskFull("could not extend file: No space left on device")
            raise sqlite3.OperationalError("database or disk is full")

    def free(self) -> None:
        if event.contains(self.engine, "do_execute", self.listener):
            event.remove(self.engine, "do_execute", self.listener)


@pytest.fixture
def full_disk(app: Flask) -> Iterator[FullDisk]:
    disk = FullDisk(app.extensions["db_engine"])
    disk.fill()
    yield disk
    disk.free()


def database_is_intact(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite":
        return session.execute(text("SELECT 1")).scalar() == 1
    return session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


PLOT = {"name": "Ruộng mới", "area_ha": "1", "latitude": "10.5", "longitude": "106.4"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_full_disk_shows_a_clear_page_and_keeps_the_database_intact(
    app: Flask, login_as: Any, farm_a: Farm, session: Session, full_disk: FullDisk, lang: str
) -> None:
    client = login_as(farm_a.email)
    client.set_cookie("lang", lang)
    plots_before = session.exec(select(Plot.id, Plot.name)).all()
    response = client.post("/farm/plots", data=PLOT)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    with app.test_request_context(), force_locale(lang):
        assert str(DISK_FULL_TITLE) in page and str(DISK_FULL_HINT) in page
    assert f'<html lang="{lang}">' in page and "Traceback" not in page
    assert session.exec(select(Plot.id, Plot.name)).all() == plots_before
    assert database_is_intact(session)


def test_writes_succeed_again_once_space_is_freed(
    login_as: Any, farm_a: Farm, session: Session, full_disk: FullDisk
) -> None:
    client = login_as(farm_a.email)
    assert client.post("/farm/plots", data=PLOT).status_code == 503
    full_disk.free()
    assert client.post("/farm/plots", data=PLOT).status_code == 302
    names = session.exec(select(Plot.name)).all()
    assert names.count(PLOT["name"]) == 1  # the failed attempt left nothing behind


# --- the database is out of reach ------------------------------------------------------


@pytest.fixture
def unreachable_app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """An app whose PostgreSQL is not listening (a port nobody holds): a restart, say."""
    import socket

    from trace.app import close_app, create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2"
    application = create_app(
        {**app_config, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "offline")}
    )
    yield application
    close_app(application)


PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}
STAMP = "/01/08936001230011/10/TL-2611-01/21/0BWT9PBBV5B9NP"


def test_a_database_out_of_reach_is_a_503_page_in_the_users_language(
    unreachable_app: Flask,
) -> None:
    client = unreachable_app.test_client()
    page = client.get(STAMP, headers=PHONE)
    html = page.get_data(as_text=True)
    # (the scan page's rate limiter may raise Retry-After to the end of its window)
    assert page.status_code == 503 and int(page.headers["Retry-After"]) >= 5
    assert "Traceback" not in html and "psycopg" not in html
    with unreachable_app.test_request_context(), force_locale("vi"):
        assert str(UNAVAILABLE_HINT) in html  # Vietnamese by default
    english = client.get(STAMP + "?lang=en", headers=PHONE).get_data(as_text=True)
    assert "The database is briefly out of reach. Nothing was saved." in english


def test_a_database_out_of_reach_is_a_503_problem_on_the_api(unreachable_app: Flask) -> None:
    response = unreachable_app.test_client().get(
        "/api/v1/stamps/0BWT9PBBV5B9NP", headers={"Authorization": "Bearer at_" + "x" * 40}
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.content_type.startswith("application/problem+json")
    assert response.json["status"] == 503 and "psycopg" not in response.get_data(as_text=True)

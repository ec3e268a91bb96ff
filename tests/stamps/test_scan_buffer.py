"""Counted scans written in batches (stamps.hotpath.scan_buffer), on SQLite and PostgreSQL:
each scan is written once, counted once, its page says what a direct write would have said,
a failed or repeated batch changes nothing twice, and a worker's exit writes what waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from stamps import minting
from stamps.hotpath.scan_buffer import ScanBuffer
from stamps.models import CloneThreshold, Scan, Stamp, StampFlag
from tests.registry_fixtures import Farm
from trace.app import close_app, create_app
from trace.models import Lot, Product

ON_POSTGRES = "postgresql" in os.environ.get("TEST_DATABASE_URL", "")
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Batches of 64, due after a minute: the tests decide when a batch is written."""
    return {**app_config, "SCAN_WRITE_BATCH": 64, "SCAN_WRITE_DELAY_MS": 60_000}


@pytest.fixture
def stamped(session: Session, farm_a: Farm, app: Flask) -> list[str]:
    """Paths of four fresh stamps on farm A's lot, whose story the hot path holds."""
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 4, "1")
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.serial))).all()
    paths = [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]  # type: ignore[union-attr]
    app.test_client().head(paths[-1], headers=PHONE)  # the lot's story, read (not a scan)
    return paths


def buffer_of(app: Flask) -> ScanBuffer:
    buffer = app.wsgi_app.buffer  # type: ignore[attr-defined]
    assert isinstance(buffer, ScanBuffer)
    return buffer


def view(client: FlaskClient, path: str, addr: str, headers: dict[str, str] = JSON) -> Any:
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": addr})


def scan_id_of(page: str) -> int:
    return int(page.split('name="token" type="hidden" value="')[1].split(":")[0])


def stored(session: Session, path: str) -> tuple[Stamp, list[Scan]]:
    """The stamp ``path`` names and its scans, as the database holds them now."""
    session.expire_all()
    serial = path.rsplit("/", 1)[1]
    stamp = session.exec(select(Stamp).where(Stamp.serial == serial)).one()
    scans = session.exec(select(Scan).where(Scan.stamp_id == stamp.id).order_by(col(Scan.id))).all()
    return stamp, list(scans)


def test_scans_wait_in_the_buffer_and_are_written_once_each_in_one_batch(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client, buffer = app.test_client(), buffer_of(app)
    pages = [view(client, stamped[0], f"198.51.100.{n}").json for n in range(1, 6)]
    assert [page["scans"]["count"] for page in pages] == [1, 2, 3, 4, 5]
    first_at = pages[0]["scans"]["first_at"]
    assert {page["scans"]["first_at"] for page in pages} == {first_at}
    assert stored(session, stamped[0])[1] == [] and len(buffer) == 5  # not written yet
    assert buffer.flush() and len(buffer) == 0
    stamp, scans = stored(session, stamped[0])
    assert len(scans) == stamp.scan_count == 5
    assert stamp.first_scan_at == scans[0].scanned_at == datetime.fromisoformat(first_at)
    assert buffer.flush() and stored(session, stamped[0])[0].scan_count == 5  # nothing again


def test_a_batch_writes_each_user_agent_as_it_came(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    """Agents a text array would have to quote (braces, quotes, commas, backslashes, NULL
    spelled out, Vietnamese) are stored byte for byte, each with its scan."""
    agents = ['Mozilla/5.0 {"x": "y"}', "a,b\\c", "NULL", "Cốc Cốc/113 (Điện thoại)"]
    client = app.test_client()
    for n, agent in enumerate(agents, start=1):
        assert view(client, stamped[1], f"198.51.100.{n}", {**JSON, "User-Agent": agent}).json
    assert buffer_of(app).flush()
    _stamp, scans = stored(session, stamped[1])
    assert [scan.user_agent for scan in scans] == agents


def test_a_repeat_view_of_an_unwritten_scan_counts_nothing(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client = app.test_client()
    pages = [view(client, stamped[0], "198.51.100.7", PHONE).get_data(as_text=True) for _ in "ab"]
    assert scan_id_of(pages[0]) == scan_id_of(pages[1])
    assert view(client, stamped[0], "198.51.100.7").json["scans"]["count"] == 1
    buffer_of(app).flush()
    stamp, scans = stored(session, stamped[0])
    assert stamp.scan_count == 1 and [s.id for s in scans] == [scan_id_of(pages[0])]


def test_a_batch_retried_after_its_commit_was_lost_counts_nothing_twice(
    app: Flask, session: Session, stamped: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    client, buffer = app.test_client(), buffer_of(app)
    for n in range(3):
        view(client, stamped[1], f"198.51.100.{20 + n}")
    view(client, stamped[2], "198.51.100.20")
    execute, outcomes = buffer._execute, []

    def committed_then_lost(scans: list[Any]) -> tuple[int, int]:
        outcomes.append(execute(scans))
        if len(outcomes) == 1:  # written, but the answer never came back
            raise OSError("connection lost after the commit")
        return outcomes[-1]

    buffer._execute = committed_then_lost  # type: ignore[method-assign]
    assert not buffer.flush() and len(buffer) == 4  # kept, to be tried again
    assert buffer.flush() and len(buffer) == 0
    assert outcomes == [(4, 2), (0, 0)]  # the retry inserted and counted nothing
    assert [(stamp.scan_count, len(scans)) for stamp, scans in map(
        lambda path: stored(session, path), stamped[1:3]
    )] == [(3, 3), (1, 1)]  # fmt: skip
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.skipif(not ON_POSTGRES, reason="a server connection to kill: PostgreSQL's")
def test_a_batch_whose_connection_was_killed_is_kept_and_written_once_later(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client, buffer = app.test_client(), buffer_of(app)
    view(client, stamped[0], "198.51.100.30")
    assert buffer.flush()  # the writer's connection is open now
    pid = buffer._conn.driver_connection.info.backend_pid
    for n in range(3):
        view(client, stamped[0], f"198.51.100.{31 + n}")
    session.exec(select(func.pg_terminate_backend(pid))).one()  # type: ignore[call-overload]
    session.commit()
    assert not buffer.flush() and len(buffer) == 3
    assert stored(session, stamped[0])[0].scan_count == 1
    assert buffer.flush() and len(buffer) == 0
    stamp, scans = stored(session, stamped[0])
    assert stamp.scan_count == len(scans) == 4


def test_the_writer_thread_writes_each_batch_once_it_is_due(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    buffer = buffer_of(app)
    buffer.delay = 0.05
    for n in range(1, 4):  # a quiet worker: one scan, written, then another
        view(app.test_client(), stamped[0], f"198.51.100.{40 + n}")
        deadline = time.monotonic() + 5
        while stored(session, stamped[0])[0].scan_count < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(session, stamped[0])[0].scan_count == n and len(buffer) == 0
    buffer.batch = 2  # a full batch is written at once, however long its delay
    buffer.delay = 60.0
    for n in range(2):
        view(app.test_client(), stamped[1], f"198.51.100.{50 + n}")
    deadline = time.monotonic() + 5
    while stored(session, stamped[1])[0].scan_count < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(session, stamped[1])[0].scan_count == 2


def test_closing_the_app_writes_what_waits(
    other_worker: Flask, session: Session, stamped: list[str]
) -> None:
    other_worker.test_client().head(stamped[0], headers=PHONE)  # the lot's story, held
    view(other_worker.test_client(), stamped[0], "198.51.100.41")
    view(other_worker.test_client(), stamped[1], "198.51.100.41")
    assert len(buffer_of(other_worker)) == 2
    close_app(other_worker)
    assert [stored(session, p)[0].scan_count for p in stamped[:2]] == [1, 1]


WORKER = """
import json, os, signal, sys
from trace.app import create_app
config, paths, ending = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
app = create_app(config)
client = app.test_client()
ua = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120 Mobile"}
client.head(paths[0], headers=ua)  # the lot's story, in this worker's memory
ids = []
for n, path in enumerate(paths):
    page = client.get(path, headers=ua, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"})
    ids.append(int(page.get_data(as_text=True).split('value="')[1].split(":")[0]))
print(json.dumps({"ids": ids, "written": app.wsgi_app.buffer.written}), flush=True)
if ending == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
sys.exit(0)
"""


@pytest.mark.parametrize("ending", ["kill", "exit"])
def test_a_killed_worker_loses_its_unwritten_scans_whole_and_an_exiting_one_writes_them(
    app_config: dict[str, Any], session: Session, stamped: list[str], tmp_path: Path, ending: str
) -> None:
    config = {**app_config, "SECRET_KEY": "k" * 32, "INSTANCE_PATH": str(tmp_path / "worker")}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(config), json.dumps(stamped[:3]), ending],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answered = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(set(answered["ids"])) == 3 and answered["written"] == 0
    after = [stored(session, path) for path in stamped[:3]]
    if ending == "kill":
        assert done.returncode == -signal.SIGKILL
        assert [(stamp.scan_count, scans) for stamp, scans in after] == [(0, [])] * 3
    else:
        assert done.returncode == 0, done.stderr[-2000:]
        assert [(stamp.scan_count, [s.id for s in scans]) for stamp, scans in after] == [
            (1, [scan_id]) for scan_id in answered["ids"]
        ]


def test_sharing_a_place_right_after_a_buffered_scan_locates_it(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client = app.test_client()
    page = view(client, stamped[0], "198.51.100.50", PHONE).get_data(as_text=True)
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    assert stored(session, stamped[0])[1] == []  # still waiting in the buffer
    shared = client.post(stamped[0], data={"token": token, "province": "Huế"}, headers=PHONE)
    assert shared.status_code == 302
    stamp, scans = stored(session, stamped[0])
    assert [(s.id, s.province) for s in scans] == [(scan_id_of(page), "Huế")]
    assert stamp.scan_count == 1 and stamp.first_scan_province == "Huế"


@pytest.fixture
def other_worker(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """Another worker of the same service (database, secret), buffering its own scans."""
    config = {**app_config, "SECRET_KEY": app.config["SECRET_KEY"]}
    other = create_app({**config, "INSTANCE_PATH": str(tmp_path / "other")})
    yield other
    close_app(other)


def test_sharing_a_place_on_another_worker_waits_for_the_scan_to_be_written(
    app: Flask, other_worker: Flask, session: Session, stamped: list[str]
) -> None:
    buffer_of(app).delay = 0.3  # the first worker's batch is due 0.3 s after the scan
    page = view(app.test_client(), stamped[0], "198.51.100.51", PHONE).get_data(as_text=True)
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    assert stored(session, stamped[0])[1] == []  # the first worker still holds it
    shared = other_worker.test_client().post(
        stamped[0], data={"token": token, "province": "Huế"}, headers=PHONE
    )
    assert shared.status_code == 302
    _, scans = stored(session, stamped[0])
    assert [(s.id, s.province) for s in scans] == [(scan_id_of(page), "Huế")]


def test_the_products_scan_limit_counts_the_workers_unwritten_scans(
    app: Flask, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    session.add(CloneThreshold(product_id=farm_a.product_id, max_scans=3))
    session.commit()
    client = app.test_client()
    pages = [view(client, stamped[0], f"198.51.100.{60 + n}").json for n in range(4)]
    assert [p["verdict"] for p in pages] == ["GENUINE"] * 3 + ["SUSPICIOUS"]
    assert [p["scans"]["count"] for p in pages] == [1, 2, 3, 4]
    stamp, scans = stored(session, stamped[0])
    assert stamp.scan_count == len(scans) == 4 and stamp.flagged
    rules = session.exec(select(StampFlag.rule).where(StampFlag.stamp_id == stamp.id)).all()
    assert rules


def test_ids_reserved_for_unwritten_scans_are_never_taken_by_another_insert(
    app: Flask, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    client = app.test_client()
    page = view(client, stamped[0], "198.51.100.70", PHONE).get_data(as_text=True)
    reserved = scan_id_of(page)  # the first of a block this worker holds
    stamp_id = stored(session, stamped[1])[0].id
    other = Scan(stamp_id=stamp_id, client_hash="f" * 64, user_agent="the full view")
    session.add(other)  # another writer's scan, while the reserved ids wait unwritten
    session.commit()
    assert other.id is not None and other.id > reserved
    later = [scan_id_of(view(client, p, "198.51.100.71", PHONE).get_data(as_text=True))
             for p in stamped[1:3]]  # fmt: skip
    assert later == [reserved + 1, reserved + 2]  # the same block, nobody else's ids
    assert buffer_of(app).flush()
    rows = {s.id for p in stamped[:3] for s in stored(session, p)[1]}
    assert rows == {reserved, reserved + 1, reserved + 2, other.id}


def test_a_sqlite_database_not_migrated_to_0021_has_each_scan_written_directly(
    app_config: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    if ON_POSTGRES:
        pytest.skip("PostgreSQL reserves ids from its sequence at every revision")
    from alembic import command

    from trace.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0020")  # ids cannot be reserved ahead
    worker = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "old")})
    try:
        assert worker.wsgi_app.buffer is None  # type: ignore[attr-defined]
    finally:
        close_app(worker)
    command.upgrade(alembic_config(database_url), "heads")
    worker = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "new")})
    try:
        assert isinstance(worker.wsgi_app.buffer, ScanBuffer)  # type: ignore[attr-defined]
    finally:
        close_app(worker)


def test_the_sqlite_writer_keeps_a_small_page_cache_of_its_own(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    if ON_POSTGRES:
        pytest.skip("SQLite keeps a page cache per connection")
    from stamps.hotpath.scan_buffer import WRITER_CACHE_KB

    buffer = buffer_of(app)
    view(app.test_client(), stamped[0], "198.51.100.80")
    assert buffer.flush()
    size = buffer._conn.driver_connection.execute("PRAGMA cache_size").fetchone()[0]
    assert size == -WRITER_CACHE_KB  # not the pool's 32 MB: it counts in the worker's memory


def test_ids_reserved_too_long_ago_are_left_unused(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    """An id is handed out at most RESERVED_ID_SECONDS after its block was reserved: the
    dashboard's rollup relies on it to know when every lower id is written."""
    from stamps.hotpath.scan_buffer import RESERVE_BLOCK, RESERVED_ID_SECONDS

    client, buffer = app.test_client(), buffer_of(app)
    first = scan_id_of(view(client, stamped[0], "198.51.100.90", PHONE).get_data(as_text=True))
    second = scan_id_of(view(client, stamped[1], "198.51.100.90", PHONE).get_data(as_text=True))
    assert second == first + 1  # the same block
    buffer._ids_reserved -= RESERVED_ID_SECONDS + 1  # the block's time is up
    third = scan_id_of(view(client, stamped[2], "198.51.100.90", PHONE).get_data(as_text=True))
    assert third >= first + RESERVE_BLOCK  # a new block; the old one's rest stays unused
    assert buffer.flush()
    assert [stored(session, p)[1][0].id for p in stamped[:3]] == [first, second, third]


def test_the_writing_thread_reserves_the_next_block_before_requests_need_it(
    app: Flask, session: Session, stamped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a reservation waits for the host's scan write lock: requests leave it to
    the worker's writing thread, which reserves the next block while half of one is left;
    a block reserved ahead too long ago is not handed out either."""
    import threading

    from stamps.hotpath import scan_buffer

    monkeypatch.setattr(scan_buffer, "RESERVE_BLOCK", 4)
    monkeypatch.setattr(scan_buffer, "RESERVE_AHEAD", 2)
    client, buffer = app.test_client(), buffer_of(app)
    reserving: list[str] = []
    reserve = buffer.writes.reserve

    def recorded(cursor: Any, count: int) -> list[int]:
        reserving.append(threading.current_thread().name)
        return reserve(cursor, count)

    monkeypatch.setattr(buffer.writes, "reserve", recorded)

    def scan(path: str, addr: str) -> int:
        return scan_id_of(view(client, path, addr, PHONE).get_data(as_text=True))

    def reserved_ahead() -> None:
        deadline = time.monotonic() + 5
        while not buffer._next_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        assert buffer._next_ids, "the writing thread did not reserve ahead"

    ids = [scan(p, "198.51.100.110") for p in stamped[:3]]  # 2 of the block left: ahead
    reserved_ahead()
    ids += [scan(p, "198.51.100.111") for p in stamped]
    assert ids == list(range(ids[0], ids[0] + 7))  # the next block follows, nothing skipped
    reserved_ahead()  # asked again when the second block was half used
    assert reserving[0] != "scan-writer" and reserving[1:] == ["scan-writer"] * 2
    buffer._next_reserved -= scan_buffer.RESERVED_ID_SECONDS + 1  # its time is up unused
    last = [scan(p, "198.51.100.112") for p in stamped[:2]]
    assert last[0] == ids[-1] + 1  # the second block's last id
    assert last[1] > ids[-1] + 5 and reserving[3] != "scan-writer"  # the request reserved
    assert buffer.flush()
    written = {s.id for p in stamped for s in stored(session, p)[1]}
    assert written == {*ids, *last}


def test_a_failed_reservation_ahead_leaves_requests_to_reserve_and_loses_no_scan(
    app: Flask, session: Session, stamped: list[str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    import threading

    from stamps.hotpath import scan_buffer

    monkeypatch.setattr(scan_buffer, "RESERVE_BLOCK", 2)
    monkeypatch.setattr(scan_buffer, "RESERVE_AHEAD", 1)
    client, buffer = app.test_client(), buffer_of(app)
    reserve = buffer.writes.reserve

    def down_for_the_writer(cursor: Any, count: int) -> list[int]:
        if threading.current_thread().name == "scan-writer":
            raise ConnectionError("database unreachable")
        return reserve(cursor, count)

    monkeypatch.setattr(buffer.writes, "reserve", down_for_the_writer)

    def scan(path: str) -> int:
        return scan_id_of(view(client, path, "198.51.100.120", PHONE).get_data(as_text=True))

    ids = [scan(p) for p in stamped[:2]]  # the second leaves 1 id: the writer is asked
    deadline = time.monotonic() + 5
    while "reserving scan ids ahead failed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "reserving scan ids ahead failed" in caplog.text
    assert not buffer._next_ids
    ids += [scan(p) for p in stamped[2:]]
    assert len(set(ids)) == 4  # each request reserved when no block was ready
    assert buffer.flush()
    assert {s.id for p in stamped for s in stored(session, p)[1]} == set(ids)

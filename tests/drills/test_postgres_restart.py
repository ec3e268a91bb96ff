"""Fault drill: PostgreSQL restarts (``pg_ctl restart -m fast``) during minting and during scans.

A private cluster is started for the drill (never the machine's shared one): minting
200,000 stamps is cut off in the middle of its COPY and must leave no partial run; scans
served by gunicorn keep going through the restart, fail only while the database is away,
and every scan that was answered is in the scan log exactly once. The pool reconnects
by itself (``pool_pre_ping``), so there is no storm of errors once the database is back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, func, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select

from stamps.minting import activate_run, mint_stamps
from stamps.models import Scan, Stamp, StampRun
from tests.chain.anvil import free_port
from tests.conftest import _truncate_all
from tests.drills.conftest import PATIENCE, ROOT, PrivatePostgres, wait_until
from tests.registry_fixtures import Farm
from trace.models import Lot, Product
from trace.services import lots

pytestmark = pytest.mark.xdist_group("private-postgres")  # one private cluster per module

BIG_RUN = 200_000


@pytest.fixture
def app_config(app_config: dict[str, Any], private_postgres: PrivatePostgres) -> dict[str, Any]:
    """The app works on the private cluster, emptied for each drill."""
    _truncate_all(private_postgres.url)
    return app_config | {"DATABASE_URL": private_postgres.url}


def copying_stamps(url: str) -> bool:
    """Whether a COPY into ``stamps`` is running right now (seen from another connection)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            statement = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE state = 'active' AND query LIKE 'COPY stamps%'"
            )
            return bool(conn.execute(statement).scalar())
    finally:
        engine.dispose()


def big_lot(session: Session, farm: Farm) -> int:
    new = lots.NewLot(farm.product_id, "BIG-1", date.today(), "300000", "kg", farm.plot_id)
    return lots.create_lot(session, farm.actor, new, date.today()).id  # type: ignore[return-value]


def minted(session: Session, lot_id: int) -> tuple[list[tuple[int, int]], int, int]:
    """(runs as (id, count), stamps in the table, the lot's stamp count) for one lot."""
    session.expire_all()
    statement = select(StampRun).where(StampRun.lot_id == lot_id)
    runs = [(run.id, run.count) for run in session.exec(statement)]
    rows = session.exec(select(func.count()).select_from(Stamp).where(Stamp.lot_id == lot_id)).one()
    lot = session.get(Lot, lot_id)
    assert lot is not None
    return runs, int(rows), lot.stamp_count  # type: ignore[return-value]


def test_restart_during_minting_leaves_the_run_whole_or_absent(
    app: Flask, session: Session, farm_a: Farm, private_postgres: PrivatePostgres
) -> None:
    lot_id = big_lot(session, farm_a)
    outcome: dict[str, Any] = {}

    def mint() -> None:
        try:
            with Session(app.extensions["db_engine"], expire_on_commit=False) as own:
                outcome["run"] = mint_stamps(own, farm_a.actor, lot_id, BIG_RUN, "1").id
        except Exception as error:  # noqa: BLE001 - examined below
            outcome["error"] = error

    minting = threading.Thread(target=mint)
    minting.start()
    wait_until(lambda: copying_stamps(private_postgres.url), PATIENCE, "the COPY of stamps")
    private_postgres.restart()
    minting.join(timeout=PATIENCE)
    assert not minting.is_alive()

    runs, rows, counted = minted(session, lot_id)
    if "run" in outcome:  # the commit won the race with the shutdown: the run is whole
        assert runs == [(outcome["run"], BIG_RUN)] and rows == counted == BIG_RUN
    else:  # cut off mid-way: nothing of it is left
        assert isinstance(outcome["error"], OperationalError), repr(outcome["error"])
        assert (runs, rows, counted) == ([], 0, 0)
        # The pool reconnects: the same minting goes through once the database is back.
        run = mint_stamps(session, farm_a.actor, lot_id, BIG_RUN, "1")
        assert minted(session, lot_id) == ([(run.id, BIG_RUN)], BIG_RUN, BIG_RUN)


# --- scans through gunicorn -----------------------------------------------------------

CLIENTS, PACE = 3, 0.02  # concurrent phones, and the pause between one phone's scans
GRACE = 0.5  # seconds after the database is back during which a request may still fail


@pytest.fixture(params=[0, 64], ids=["direct-writes", "batched-writes"])
def scan_write_batch(request: pytest.FixtureRequest) -> int:
    """``SCAN_WRITE_BATCH``: each scan written before its answer, or in batches (deployed)."""
    return int(request.param)


@pytest.fixture
def server(
    private_postgres: PrivatePostgres, tmp_path: Path, scan_write_batch: int
) -> Iterator[str]:
    """gunicorn (2 workers x 4 threads) serving the app on the private cluster."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "AGRITRACE"))}
    env |= {"AGRITRACE_ENV": "testing", "DATABASE_URL": private_postgres.url}
    env |= {"SCAN_WRITE_BATCH": str(scan_write_batch)}
    env |= {"AGRITRACE_INSTANCE": str(tmp_path / "instance")}
    # Phones, not abuse; each phone's address reaches the app through one trusted proxy.
    factory = "trace.app:create_app({'SCAN_RATE_LIMIT': '100000/minute', 'TRUSTED_PROXIES': 1})"
    cmd = [sys.executable, "-m", "gunicorn", factory, "-b", f"127.0.0.1:{port}", "-w", "2"]
    cmd += ["-k", "gthread", "--threads", "4", "--no-control-socket"]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
        try:
            return requests.get(url + "/login", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or a worker still booting
            return False

    try:
        wait_until(up, PATIENCE, "gunicorn to serve")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@dataclass
class Request:
    tag: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    error: str = ""


class Phones:
    """``CLIENTS`` threads scanning stamps one after another; every request is tagged.

    Each request comes from a phone of its own (its own address in ``X-Forwarded-For``):
    one client's repeated views of a stamp inside the scan window are one scan, and here
    every answered request must be a scan of its own.
    """

    def __init__(self, url: str, paths: list[str]) -> None:
        self.url, self.paths = url, paths
        self.stop = threading.Event()
        self.done: list[Request] = []
        self.threads = [threading.Thread(target=self._scan, args=(n,)) for n in range(CLIENTS)]

    def _scan(self, phone: int) -> None:
        with requests.Session() as session:
            self._scan_with(session, phone)

    def _scan_with(self, session: requests.Session, phone: int) -> None:
        n = 0
        while not self.stop.is_set():
            tag = f"agritrace-drill/{phone}-{n}"
            path = self.paths[n % len(self.paths)]
            headers = {"Accept": "application/json", "User-Agent": tag}
            headers["X-Forwarded-For"] = f"2001:db8::{phone:x}:{n:x}"
            started = time.monotonic()
            try:
                answer = session.get(self.url + path, headers=headers, timeout=10)
                status, error = answer.status_code, ""
            except requests.RequestException as exc:
                status, error = None, repr(exc)
            self.done.append(Request(tag, started, time.monotonic(), status, error))
            n += 1
            self.stop.wait(PACE)

    def __enter__(self) -> Phones:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def stamp_paths(session: Session, farm: Farm) -> list[str]:
    run = mint_stamps(session, farm.actor, farm.lot_id, 20, "1")
    activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]
    lot, product = session.get(Lot, farm.lot_id), session.get(Product, farm.product_id)
    assert lot is not None and product is not None
    serials = session.exec(select(Stamp.serial).where(Stamp.lot_id == farm.lot_id)).all()
    paths = [f"/01/{product.gtin}/10/{lot.code}/21/{serial}" for serial in serials]
    session.rollback()  # hand the connection back to the pool before the restart
    return paths


def recorded_tags(session: Session) -> list[str]:
    session.expire_all()
    statement = select(Scan.user_agent).where(col(Scan.user_agent).startswith("agritrace-drill/"))
    return list(session.exec(statement))


def test_scans_ride_through_a_restart_without_an_error_storm_or_lost_scans(
    session: Session, farm_a: Farm, private_postgres: PrivatePostgres, server: str
) -> None:
    paths = stamp_paths(session, farm_a)
    with Phones(server, paths) as phones:
        time.sleep(1.5)
        down = time.monotonic()
        private_postgres.restart()
        back = time.monotonic()
        time.sleep(3.0)
    done = phones.done

    failed = [r for r in done if r.status != 200]
    assert all(r.status is not None for r in failed), "gunicorn stopped answering"
    assert all(r.status >= 500 for r in failed if r.status is not None), failed[:3]
    assert all(r.status == 200 for r in done if r.ended < down)
    # Failures only while the database was away; 100 % success once it is back.
    assert all(r.started < back + GRACE and r.ended > down for r in failed), failed
    after = [r for r in done if r.started >= back + GRACE]
    assert len(after) >= 10 and all(r.status == 200 for r in after)
    outage = back - down + GRACE
    assert len(failed) <= CLIENTS * (outage / PACE + 1)

    answered = {r.tag for r in done if r.status == 200}
    # Batched writes: the last scans answered are written within SCAN_WRITE_DELAY_MS, and
    # a batch the restart cut off is retried (backoff up to 5 s) once the database is back.
    wait_until(lambda: answered <= set(recorded_tags(session)), 15, "the answered scans")
    tags = recorded_tags(session)
    assert len(tags) == len(set(tags)), "a scan was recorded twice"
    assert answered <= set(tags), "an answered scan is missing from the log"
    # A request cut off after its scan was committed but before the page was built is
    # logged without a page: only a request in flight at the restart can be one.
    unanswered = set(tags) - answered
    assert unanswered <= {r.tag for r in failed} and len(unanswered) <= CLIENTS

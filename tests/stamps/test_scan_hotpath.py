"""The scan's hot path (stamps.hotpath) says what the full view says, sets no cookie, keeps
the scan counting rules, and the consent form it serves is refused without a valid token."""

from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlmodel import Session, col, select

from stamps import minting, voiding
from stamps.hotpath import consent
from stamps.models import CloneThreshold, Scan, ScanPlace, Stamp
from tests.registry_fixtures import Farm
from trace import extensions
from trace.anchoring.documents import mark_tampered
from trace.app import close_app, create_app
from trace.models import Lot, Producer, ProducerStatus, Product, User
from trace.models.base import utcnow
from trace.services.access import Actor
from trace.services.recall import recall_hooks, recall_lot

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}
TOKEN = re.compile(r'(name="token" type="hidden" value=")[^"]*(")')


@pytest.fixture
def stamped(session: Session, farm_a: Farm) -> list[str]:
    """Paths of six freshly minted stamps on farm A's lot."""
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 6, "1")
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.serial))).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]  # type: ignore[union-attr]


@pytest.fixture
def full_app(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """The same service (database, secret) with every scan rendered by the full Flask view."""
    config = {
        **app_config,
        "SCAN_HOT_PATH": False,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": str(tmp_path / "full"),
    }
    other = create_app(config)
    yield other
    close_app(other)


def answered(app: Flask) -> int:
    """How many scans the app's hot path answered itself."""
    return int(app.wsgi_app.answered)  # type: ignore[attr-defined]


def view(client: FlaskClient, path: str, addr: str, headers: dict[str, str] = PHONE) -> Any:
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": addr})


def _recall(session: Session, farm: Farm, inspector: User) -> None:
    from flask import current_app

    actor = Actor(inspector.id, inspector.role)  # type: ignore[arg-type]
    hooks = recall_hooks(current_app)  # type: ignore[arg-type]
    recall_lot(session, actor, farm.lot_id, "Salmonella found in a sample", hooks)


def _suspend(session: Session, farm: Farm) -> None:
    lot = session.get(Lot, farm.lot_id)
    producer = session.get(Producer, lot.producer_id)  # type: ignore[union-attr]
    producer.status = ProducerStatus.SUSPENDED  # type: ignore[union-attr]
    session.add(producer)
    session.commit()


def _void(session: Session, farm: Farm, path: str) -> None:
    labels = voiding.labels_by_serial(session, farm.actor, farm.lot_id, path.rsplit("/", 1)[1])
    voiding.void_labels(session, farm.actor, farm.lot_id, labels)


STATES: dict[str, Callable[..., None]] = {
    "GENUINE": lambda session, farm, inspector, path: None,
    "RECALLED": lambda session, farm, inspector, path: _recall(session, farm, inspector),
    "TAMPERED": lambda session, farm, inspector, path: mark_tampered(session, farm.lot_id),
    "PRODUCER_SUSPENDED": lambda session, farm, inspector, path: _suspend(session, farm),
    "VOID": lambda session, farm, inspector, path: _void(session, farm, path),
}
#: The states the hot path answers itself on a repeat view (VOID: its first scan is flagged,
#: and a flagged stamp's page explains the flag, which only the full view reads).
HOT_STATES = {"GENUINE", "RECALLED", "TAMPERED", "PRODUCER_SUSPENDED"}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_hot_page_is_the_full_page_for_every_verdict(
    app: Flask,
    full_app: Flask,
    session: Session,
    farm_a: Farm,
    inspector: User,
    stamped: list[str],
    state: str,
    lang: str,
) -> None:
    path = f"{stamped[0]}?lang={lang}"
    with app.app_context():
        STATES[state](session, farm_a, inspector, stamped[0])
    hot, full = app.test_client(), full_app.test_client()
    hot.head(path, headers=PHONE)  # the lot's story, read once by the full view
    # Another phone first, sharing its province: the count line names it, in the plural.
    view(full, f"{stamped[0]}?consent=1&province=Cần Thơ", "198.51.100.7", JSON)
    before = answered(app)
    by_full = view(full, path, "198.51.100.1")  # a scan, counted by the service
    by_hot = view(hot, path, "198.51.100.1")  # the same phone's reload
    if state in HOT_STATES:
        assert answered(app) == before + 1
    assert by_hot.status_code == by_full.status_code == 200
    page = TOKEN.sub(r"\1\2", by_hot.get_data(as_text=True))
    assert page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))
    assert f'data-verdict="{state}"' in page and "Cần Thơ" in page
    assert sorted(by_hot.headers.items()) == sorted(by_full.headers.items())
    json_hot, json_full = (view(c, path, "198.51.100.1", JSON) for c in (hot, full))
    assert json_hot.get_data() == json_full.get_data()
    assert sorted(json_hot.headers.items()) == sorted(json_full.headers.items())
    assert json_hot.json["scans"]["count"] == 2


def test_first_scans_of_a_lot_in_both_languages_match(
    app: Flask, full_app: Flask, stamped: list[str]
) -> None:
    hot, full = app.test_client(), full_app.test_client()
    hot.head(stamped[0], headers=PHONE)
    for n, lang in enumerate(("vi", "en")):
        by_hot = view(hot, f"{stamped[1 + n]}?lang={lang}", "198.51.100.2")  # 1 scan
        by_full = view(full, f"{stamped[1 + n]}?lang={lang}", "198.51.100.2")  # a reload
        hot_page = TOKEN.sub(r"\1\2", by_hot.get_data(as_text=True))
        assert hot_page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))
    assert answered(app) == 2
    marks = app.wsgi_app.pages.marks.values()  # type: ignore[attr-defined]
    assert not any(mark in hot_page for mark in marks)
    assert "1 scan." in hot_page and 'hreflang="vi"' in hot_page


@pytest.mark.parametrize("accept", ["text/html", "application/json", "application/linkset+json"])
def test_an_anonymous_scan_sets_no_cookie(app: Flask, stamped: list[str], accept: str) -> None:
    client = app.test_client()
    headers = {**PHONE, "Accept": accept}
    first = view(client, stamped[0], "198.51.100.3", headers)  # the lot's first: full view
    again = view(client, stamped[1], "198.51.100.4", headers)  # hot path (HTML and JSON)
    assert first.status_code == again.status_code == 200
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in again.headers
    assert client.get_cookie("session") is None


def _token_of(page: str) -> str:
    return page.split('name="token" type="hidden" value="')[1].split('"')[0]


def test_consent_without_a_valid_token_is_refused_and_changes_nothing(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client = app.test_client()
    view(client, stamped[1], "198.51.100.5")  # warm: the next page comes from the hot path
    token = _token_of(view(client, stamped[0], "198.51.100.6").get_data(as_text=True))
    other = _token_of(view(client, stamped[2], "198.51.100.6").get_data(as_text=True))
    old = TimestampSigner(app.config["SECRET_KEY"], salt=consent.SALT)
    old.get_timestamp = lambda: int(time.time()) - 3600  # type: ignore[method-assign]
    scan_id = int(token.split(":")[0])
    expired = consent.issue(old, scan_id, stamped[0].rsplit("/", 1)[1])
    refused = [
        client.post(stamped[0], data={"province": "Huế"}, headers=PHONE),
        client.post(stamped[0], data={"token": "1:" + token, "province": "Huế"}, headers=PHONE),
        client.post(stamped[0], data={"token": other, "province": "Huế"}, headers=PHONE),
        client.post(stamped[0], data={"token": expired, "province": "Huế"}, headers=PHONE),
        client.post(
            stamped[0],
            data={"token": token, "province": "Huế"},
            headers={**PHONE, "Origin": "https://evil.example"},
        ),
    ]
    assert [r.status_code for r in refused] == [400] * 5
    session.expire_all()
    assert [s.province for s in session.exec(select(Scan))] == [None, None, None]
    assert session.exec(select(ScanPlace)).all() == []
    accepted = client.post(stamped[0], data={"token": token, "province": "Huế"}, headers=PHONE)
    assert accepted.status_code == 302
    assert session.get(Scan, scan_id).province == "Huế"  # type: ignore[union-attr]


def test_the_hot_path_counts_a_scan_once_per_client_and_window(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    client = app.test_client()
    view(client, stamped[1], "198.51.100.8")  # warm the lot's story
    for query in ("", "", "?lang=en", "?lang=vi"):  # reloads and language switches
        view(client, stamped[0] + query, "198.51.100.9")
    client.head(stamped[0], headers=PHONE, environ_base={"REMOTE_ADDR": "198.51.100.10"})
    view(client, stamped[0], "198.51.100.11", {"User-Agent": "Zalo link preview"})
    view(client, stamped[0], "198.51.100.12", JSON)  # another phone
    assert answered(app) >= 7
    stamp = session.exec(select(Stamp).where(Stamp.serial == stamped[0].rsplit("/", 1)[1])).one()
    session.refresh(stamp)
    assert stamp.scan_count == 2
    scans = session.exec(select(Scan).where(Scan.stamp_id == stamp.id)).all()
    assert len(scans) == 2


def test_a_scan_past_the_products_limit_is_left_to_the_clone_rules(
    app: Flask, session: Session, farm_a: Farm, stamped: list[str]
) -> None:
    session.add(CloneThreshold(product_id=farm_a.product_id, max_scans=2))
    session.commit()
    client = app.test_client()
    view(client, stamped[1], "198.51.100.13")  # warm the lot's story
    verdicts = [
        view(client, stamped[0], f"198.51.100.{20 + n}", JSON).json["verdict"] for n in range(3)
    ]
    assert verdicts == ["GENUINE", "GENUINE", "SUSPICIOUS"]


def _lot_paths(session: Session, farm: Farm) -> list[str]:
    minting.mint_stamps(session, farm.actor, farm.lot_id, 3, "1")
    lot = session.get(Lot, farm.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(
        select(Stamp.serial).where(Stamp.lot_id == farm.lot_id).order_by(col(Stamp.serial))
    ).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]  # type: ignore[union-attr]


@pytest.mark.parametrize("anchored", [False, True])
def test_a_lot_shown_from_another_lots_layout_is_the_full_page(
    app: Flask,
    full_app: Flask,
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    anchored: bool,
) -> None:
    from tests.stamps.test_proof_flow import anchor_everything

    first, second = _lot_paths(session, farm_a), _lot_paths(session, farm_b)
    lot = session.get(Lot, farm_b.lot_id)
    producer = session.get(Producer, lot.producer_id)  # type: ignore[union-attr]
    producer.name = 'HTX "Tân & Thạnh" <Long An>'  # type: ignore[union-attr]
    session.add(producer)
    session.commit()
    if anchored:
        anchor_everything(app)
    hot, full = app.test_client(), full_app.test_client()
    for lang in ("vi", "en"):
        for paths in (first, second):  # each lot's story, read once by the full view
            hot.head(f"{paths[0]}?lang={lang}", headers=PHONE)
        view(hot, f"{first[1]}?lang={lang}", "198.51.100.40")  # the layout, cut on lot A
        before = answered(app)
        by_hot = view(hot, f"{second[1]}?lang={lang}", "198.51.100.41")  # lot B, same layout
        by_full = view(full, f"{second[1]}?lang={lang}", "198.51.100.41")
        assert answered(app) == before + 1
        page = TOKEN.sub(r"\1\2", by_hot.get_data(as_text=True))
        assert page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))
        assert "HTX &#34;Tân &amp; Thạnh&#34; &lt;Long An&gt;" in page
        assert ('.json" download>' in page) is anchored
    cut = app.wsgi_app.pages._cache._entries  # type: ignore[attr-defined]
    assert cut and all(key[2] == "layout" for key in cut)  # no page of one lot's own


def test_scans_on_threads_that_end_give_their_connections_back(
    app: Flask, stamped: list[str]
) -> None:
    """``flask serve`` runs each request on a new thread: the pool must not run dry.

    Seen from outside: after 14 scans on ``make run``, every page waited for the pool's
    timeout and failed.
    """
    client = app.test_client()
    view(client, stamped[1], "198.51.100.20")  # warm the lot's story
    pool = extensions.db_engine(app).pool
    baseline, served = pool.checkedout(), answered(app)
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    for n in range(capacity + 5):
        scan = threading.Thread(target=view, args=(client, stamped[0], f"198.51.100.{30 + n}"))
        scan.start()
        scan.join(10)
        assert not scan.is_alive()
        gc.collect()
        assert pool.checkedout() <= baseline, f"scan {n} kept its connection"
    assert answered(app) - served == capacity + 5  # the hot path answered them all
    # What the hot path gives back is a connection like any other (PostgreSQL's ran each
    # statement as its own transaction): the next user's writes wait for its commit.
    for _ in range(capacity):
        with extensions.db_engine(app).connect() as conn:
            assert not getattr(conn.connection.driver_connection, "autocommit", False)


def test_a_hot_scan_on_postgresql_commits_without_waiting_for_the_disk_and_only_it(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    if session.connection().dialect.name != "postgresql":
        pytest.skip("SQLite's synchronous setting is the engine's (WAL, NORMAL)")
    statements = app.wsgi_app.statements  # type: ignore[attr-defined]
    driver = statements.connection().driver_connection
    # Each statement is its own transaction: the setting holds for the scan's commit only.
    assert driver.autocommit
    serial = stamped[0].rsplit("/", 1)[1]
    stamp_id = session.exec(select(Stamp.id).where(Stamp.serial == serial)).one()
    values = {"stamp": stamp_id, "now": utcnow(), "client": "c" * 64, "agent": "phone"}
    cursor = driver.cursor()
    with driver.transaction():  # the statement's own transaction, made explicit to look in
        scan_id, count, _first_at, _mode = statements.one(cursor, statements.record_scan, values)
        cursor.execute("SHOW synchronous_commit")
        assert count == 1 and cursor.fetchone()[0] == "off"  # for this transaction
    cursor.execute("SHOW synchronous_commit")
    assert cursor.fetchone()[0] == "on"  # the connection's next transaction waits again
    session.expire_all()
    assert session.get(Scan, scan_id) is not None
    assert session.get(Stamp, stamp_id).scan_count == 1  # type: ignore[union-attr]


def test_on_postgresql_the_hot_paths_statements_are_planned_once(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    if session.connection().dialect.name != "postgresql":
        pytest.skip("SQLite has no server-side prepared statements")
    client = app.test_client()
    view(client, stamped[0], "198.51.100.60")  # the lot's story, read by the full view
    for _ in range(8):  # reloads (nothing written); psycopg prepares from the fifth run
        view(client, stamped[1], "198.51.100.61", JSON)
    assert answered(app) == 8
    cursor = app.wsgi_app.statements.connection().cursor()  # type: ignore[attr-defined]
    cursor.execute("SELECT statement FROM pg_prepared_statements")
    prepared = [row[0] for row in cursor.fetchall()]
    cursor.connection.commit()
    assert any("FROM stamps JOIN lots" in sql for sql in prepared), prepared


def test_on_sqlite_a_counted_scan_queues_behind_the_hosts_scan_writer(
    app: Flask, session: Session, stamped: list[str]
) -> None:
    """Another worker process writing a scan holds the host's lock: this scan waits for it
    (queued by the kernel, not sleeping in SQLite's busy handler), then counts."""
    import fcntl
    import os

    if session.connection().dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes scans in batches, with no host lock")
    lock = app.wsgi_app.statements.write_lock  # type: ignore[attr-defined]
    assert lock is not None
    view(app.test_client(), stamped[0], "198.51.100.70")  # the lot's story is read
    other = os.open(lock.path, os.O_CREAT | os.O_RDWR)  # another process's descriptor
    fcntl.flock(other, fcntl.LOCK_EX)
    done: list[Any] = []
    scan = threading.Thread(
        target=lambda: done.append(view(app.test_client(), stamped[1], "198.51.100.71"))
    )
    try:
        scan.start()
        scan.join(0.5)
        assert not done  # waiting for the other writer
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    scan.join(10)
    assert [answer.status_code for answer in done] == [200]
    session.expire_all()
    serial = stamped[1].rsplit("/", 1)[1]
    assert session.exec(select(Stamp.scan_count).where(Stamp.serial == serial)).one() == 1
    assert answered(app) == 1  # the first view read the lot's story in the full view

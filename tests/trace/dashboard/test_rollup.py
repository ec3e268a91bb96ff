"""The rollups never drift from the logs: folded or not, twice or racing, the charts are exact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, select

from stamps.hotpath.scan_buffer import SETTLED_AFTER
from stamps.models import Scan, ScanPlace, Stamp, StampFlag, StampRun
from tests.trace.dashboard import recompute
from tests.trace.dashboard.conftest import NOW, Province, month_start
from tests.trace.dashboard.test_charts import FILTERS, keeper, read_csv
from trace import jobs
from trace.dashboard import rollup
from trace.dashboard.filters import Filters, parse_filters
from trace.dashboard.jobs import JOB_FOLD, fold_registered, registered_sources
from trace.dashboard.models import RollupCount, RollupWatermark

ROLLED_CHARTS = ("stamps-per-month", "scans-by-district", "suspicious-scans")


def assert_charts_match_the_logs(session: Session, client: FlaskClient) -> None:
    """Every rollup-backed chart, for every filter combination, equals a raw recount."""
    for args, _has_scans in FILTERS:
        filters = parse_filters(args, datetime.now(UTC))
        months, keep = set(filters.month_keys), keeper(args)
        expected = {
            "stamps-per-month": recompute.stamps_per_month(session, keep, months),
            "scans-by-district": recompute.scans_by_district(session, keep, months),
            "suspicious-scans": recompute.suspicious_scans(session, keep, months),
        }
        for key in ROLLED_CHARTS:
            assert read_csv(client, key, args)[1] == expected[key], (key, args)


def fold(app: Flask, session: Session) -> dict[str, int]:
    with app.app_context():
        return fold_registered(session, app)


def log_more(session: Session, lot_id: int, at: datetime, scans: int = 7) -> None:
    """A new run with stamps, scans and a flag, as the scan path and minting write them."""
    run = StampRun(lot_id=lot_id, count=3, pack_size=Decimal(1), created_by_id=1, created_at=at)
    session.add(run)
    session.flush()
    stamps = [
        Stamp(serial=f"N{at:%m%d%H%M}{n}{lot_id}", lot_id=lot_id, run_id=run.id) for n in range(3)
    ]
    session.add_all(stamps)
    session.flush()
    session.add_all(
        Scan(stamp_id=stamps[n % 3].id, scanned_at=at, client_hash="2" * 64) for n in range(scans)
    )
    session.add(StampFlag(stamp_id=stamps[0].id, rule="void_scan", created_at=at))
    session.commit()


def rolled_totals(session: Session) -> dict[str, int]:
    statement = select(RollupCount.source, func.sum(RollupCount.total)).group_by(RollupCount.source)
    return {source: int(total) for source, total in session.exec(statement).all()}


def raw_totals(session: Session) -> dict[str, int]:
    """Rows of each log (stamps of the runs), leaving out empty logs as the rollup does."""
    totals = {
        "scans": session.exec(select(func.count()).select_from(Scan)).one(),
        "scan_places": session.exec(select(func.count()).select_from(ScanPlace)).one(),
        "stamp_flags": session.exec(select(func.count()).select_from(StampFlag)).one(),
        "stamp_runs": session.exec(select(func.sum(StampRun.count))).one() or 0,
    }
    return {source: int(total) for source, total in totals.items() if total}


def test_charts_are_exact_before_after_and_past_a_fold(
    app: Flask, province: Province, session: Session, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin@example.vn")
    assert_charts_match_the_logs(session, client)  # nothing folded: all of it is the tail
    assert fold(app, session)["scans"] > 0
    assert_charts_match_the_logs(session, client)  # all of it folded
    # Logged after the fold, into lots of every district, this month and across a boundary.
    for lot_id in province.lot_ids:
        log_more(session, lot_id, NOW - timedelta(minutes=1))
        log_more(session, lot_id, month_start(1) - timedelta(minutes=1), scans=2)
    assert_charts_match_the_logs(session, client)  # folded rows plus the live tail
    fold(app, session)
    assert_charts_match_the_logs(session, client)


def test_folding_twice_counts_nothing_twice(
    app: Flask, province: Province, session: Session
) -> None:
    first = fold(app, session)
    logs = {"stamp_runs", "scans", "scan_places", "stamp_flags"}
    assert set(first) == logs and all(first.values())
    assert fold(app, session) == dict.fromkeys(first, 0)
    assert rolled_totals(session) == raw_totals(session)
    log_more(session, province.lot_ids[0], NOW - SETTLED_AFTER - timedelta(minutes=1))
    fold(app, session)
    fold(app, session)
    assert rolled_totals(session) == raw_totals(session)


def test_a_scan_written_after_a_higher_id_is_still_counted(
    app: Flask, province: Province, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scan ids are reserved before their rows are written (stamps.hotpath.scan_buffer):
    worker A's scan (a lower id) may be written after worker B's. A fold must not move
    past ids that are not final, or A's scan would be neither folded nor in the tail."""
    fold(app, session)
    stamp_id = session.exec(select(Stamp.id)).first()
    top = session.exec(select(func.max(Scan.id))).one()
    now = datetime.now(UTC)
    session.add(Scan(id=top + 10, stamp_id=stamp_id, scanned_at=now, client_hash="b" * 64))
    session.commit()  # worker B's batch
    assert fold(app, session)["scans"] == 0  # its id is not final yet: not folded
    session.add(Scan(id=top + 5, stamp_id=stamp_id, scanned_at=now, client_hash="a" * 64))
    session.commit()  # worker A's batch, later, with a lower id
    assert_charts_match_the_logs(session, login_as_admin(app))
    later = now + SETTLED_AFTER + timedelta(seconds=1)  # both old enough: both final
    monkeypatch.setattr(rollup, "utcnow", lambda: later)
    assert fold(app, session)["scans"] == 10
    assert rolled_totals(session) == raw_totals(session)


def test_a_fold_in_small_slices_adds_up_to_the_log(
    app: Flask, province: Province, session: Session
) -> None:
    with app.app_context():
        for source in registered_sources(app):
            while rollup.fold(session, source, slice_ids=3):
                pass
    assert rolled_totals(session) == raw_totals(session)


def test_a_fold_that_loses_the_race_for_a_slice_adds_nothing(
    app: Flask, province: Province, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled_high = rollup._settled_high

    def another_worker_folds_first(inner: Session, source: rollup.RollupSource) -> int:
        high = settled_high(inner, source)
        monkeypatch.setattr(rollup, "_settled_high", settled_high)
        with Session(app.extensions["db_engine"]) as other:
            assert rollup.fold(other, source) > 0
        monkeypatch.setattr(rollup, "_settled_high", another_worker_folds_first)
        return high

    monkeypatch.setattr(rollup, "_settled_high", another_worker_folds_first)
    with app.app_context():
        assert all(rollup.fold(session, source) == 0 for source in registered_sources(app))
    assert rolled_totals(session) == raw_totals(session)


def test_a_stale_watermark_hint_neither_hides_nor_doubles_a_row(
    app: Flask,
    province: Province,
    session: Session,
    login_as: Callable[[str], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fold may commit between the hint's read and the chart's statement."""
    client = login_as("admin@example.vn")
    fold(app, session)
    log_more(session, province.lot_ids[1], NOW)
    monkeypatch.setattr(rollup, "watermark_hint", lambda *_args: 0)
    assert_charts_match_the_logs(session, client)


def test_open_data_scan_statistics_match_the_log_past_a_fold(
    app: Flask, province: Province, session: Session, client: FlaskClient
) -> None:
    fold(app, session)
    log_more(session, province.lot_ids[2], NOW)
    response = client.get("/open-data/scan-statistics.json")
    published = Counter({(i["month"], i["district"]): i["scans"] for i in response.json["items"]})
    months = set(Filters(None, None, 24, datetime.now(UTC)).month_keys)
    assert published == recompute.scan_statistics(session, months)


def test_the_worker_queues_a_fold_and_the_job_catches_the_rollups_up(
    app: Flask, province: Province, session: Session
) -> None:
    app.config["ROLLUP_INTERVAL_SECONDS"] = 0
    idle = jobs.worker_on_idle(app)
    assert idle is not None
    idle()
    with app.app_context():
        kinds = []
        while job := jobs.claim(session, "w1", [JOB_FOLD]):
            kinds.append(job.kind)
            jobs.handlers(app)[job.kind](session, dict(job.payload))
    assert kinds == [JOB_FOLD]
    marks = dict(session.exec(select(RollupWatermark.source, RollupWatermark.last_id)).all())
    assert marks["scans"] == session.exec(select(func.max(Scan.id))).one()
    assert rolled_totals(session) == raw_totals(session)


def test_seeding_a_province_leaves_the_rollups_caught_up(
    app: Flask, runner: Any, session: Session
) -> None:
    # A fixed seed: one random province in forty this small has no active run, so no scans.
    done = runner.invoke(args=["seed-scale", "--factor", "0.001", "--seed", "7"])
    assert done.exit_code == 0, done.output
    assert "dashboard rollups folded" in done.output
    marks = dict(session.exec(select(RollupWatermark.source, RollupWatermark.last_id)).all())
    assert marks["scans"] == session.exec(select(func.max(Scan.id))).one() > 0
    assert rolled_totals(session) == raw_totals(session)


def test_the_rollup_command_folds_and_says_how_much(
    province: Province, runner: Any, session: Session
) -> None:
    done = runner.invoke(args=["dashboard-rollup"])
    assert done.exit_code == 0, done.output
    assert "scans" in done.output and "stamp_flags" in done.output
    assert rolled_totals(session) == raw_totals(session)


def test_steady_traffic_cannot_keep_a_fold_going(
    app: Flask, province: Province, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of the log's end finds a new scan; the fold still stops, and stays exact."""
    settled_high = rollup._settled_high
    reads: list[int] = []

    def a_scan_arrives_each_time(inner: Session, source: rollup.RollupSource) -> int | None:
        reads.append(1)
        assert len(reads) < 20, "the fold keeps chasing new rows"
        high = settled_high(inner, source)
        with Session(app.extensions["db_engine"]) as other:
            other.add(Scan(stamp_id=1, scanned_at=datetime.now(UTC), client_hash="3" * 64))
            other.commit()
        return high

    monkeypatch.setattr(rollup, "_settled_high", a_scan_arrives_each_time)
    fold(app, session)
    assert rolled_totals(session)["scans"] < raw_totals(session)["scans"]  # some left live
    assert_charts_match_the_logs(session, login_as_admin(app))


def login_as_admin(app: Flask) -> FlaskClient:
    from tests.registry_fixtures import login

    return login(app.test_client(), "admin@example.vn")


def test_on_postgresql_a_fold_waits_for_writers_in_flight_or_skips_the_log(
    app: Flask, province: Province, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan with an id taken but not yet committed must not be passed over by the watermark."""
    engine = app.extensions["db_engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids commit in order")
    monkeypatch.setattr(rollup, "LOCK_TIMEOUT", "200ms")
    scans = next(s for s in registered_sources(app) if s.name == "scans")
    rollup.fold(session, scans)
    settled = datetime.now(UTC) - SETTLED_AFTER - timedelta(minutes=1)  # old enough
    with Session(engine) as slow, Session(engine) as fast:
        slow.add(Scan(stamp_id=1, scanned_at=settled, client_hash="4" * 64))
        slow.flush()  # its id is taken, its row not committed
        fast.add(Scan(stamp_id=2, scanned_at=settled, client_hash="5" * 64))
        fast.commit()  # a higher id, committed first
        assert rollup.fold(session, scans) == 0  # skipped: a writer is still in flight
        slow.commit()
    assert rollup.fold(session, scans) == 2
    assert rolled_totals(session)["scans"] == raw_totals(session)["scans"]

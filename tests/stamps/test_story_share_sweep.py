"""The integrity sweep shares what it verified (stamps.story_share.share_swept_story): the
day's first scan of a lot the sweep found intact takes the shared story without checking
the lot again and says what a fresh read says; a lot found tampered is not shared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Stamp, VerifiedStory
from stamps.story_share import SharedStories
from tests.registry_fixtures import Farm
from tests.stamps.test_scan_hotpath import JSON, TOKEN, answered, view
from tests.stamps.test_scan_shared_story import checks, worker
from tests.stamps.test_scan_story_cache import record_cooling
from trace import jobs
from trace.anchoring import refresh_document
from trace.anchoring.jobs import JOB_SWEEP
from trace.app import close_app, create_app
from trace.models import Lot, Product

__all__ = ["checks", "worker"]  # the shared-story tests' fixtures, used here


def _paths(session: Session, farm: Farm, count: int) -> list[str]:
    """Mint ``count`` stamps on the farm's lot, record its document; the stamps' paths."""
    minting.mint_stamps(session, farm.actor, farm.lot_id, count, "1")
    assert refresh_document(session, farm.lot_id) is not None
    session.commit()
    lot = session.get(Lot, farm.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(
        select(Stamp.serial).where(Stamp.lot_id == farm.lot_id).order_by(col(Stamp.serial))
    ).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]  # type: ignore[union-attr]


@pytest.fixture
def lots(session: Session, farm_a: Farm, farm_b: Farm) -> dict[int, list[str]]:
    """Stamp paths of farm A's and farm B's lots (documents recorded), by lot id."""
    return {farm_a.lot_id: _paths(session, farm_a, 3), farm_b.lot_id: _paths(session, farm_b, 3)}


@pytest.fixture
def fresh(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """The same service read the old way: the full view, each story read and checked afresh."""
    config = {
        **app_config,
        "SCAN_HOT_PATH": False,
        "SCAN_SHARE_STORIES": False,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": str(tmp_path / "fresh"),
    }
    other = create_app(config)
    yield other
    close_app(other)


@pytest.fixture
def sweep(app: Flask, session: Session) -> Callable[[], None]:
    """Run a whole integrity sweep as the worker does (the job, slice after slice)."""

    def run() -> None:
        jobs.enqueue(session, JOB_SWEEP, {"after": 0}, dedupe_key=JOB_SWEEP)
        session.commit()
        with app.app_context():
            while jobs.run_one(app, session, "sweeper"):
                pass
        session.expire_all()

    return run


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lot of every shared story written, in order."""
    made: list[int] = []
    save = SharedStories.save

    def counted(self: SharedStories, session: Any, key: tuple[Any, ...], story: Any) -> None:
        made.append(key[0])
        save(self, session, key, story)

    monkeypatch.setattr(SharedStories, "save", counted)
    return made


def _tamper(session: Session, lot_id: int) -> None:
    """Change the lot's harvest date behind the service's back (its story version stays)."""
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"), {"d": "2020-01-01", "id": lot_id}
    )
    session.commit()


def _page(response: Any) -> str:
    return str(TOKEN.sub(r"\1\2", response.get_data(as_text=True)))


def test_after_the_sweep_a_lots_first_scan_of_the_day_checks_nothing_and_says_the_same(
    worker: Flask,
    fresh: Flask,
    farm_a: Farm,
    lots: dict[int, list[str]],
    sweep: Callable[[], None],
    checks: list[str],
) -> None:
    paths = lots[farm_a.lot_id]
    sweep()
    hot = view(worker.test_client(), f"{paths[0]}?lang=vi", "198.51.100.40")
    assert answered(worker) == 1 and checks == []  # no worker had read the lot today
    said = view(worker.test_client(), paths[1], "198.51.100.41", JSON).json
    english = view(worker.test_client(), f"{paths[2]}?lang=en", "198.51.100.42")
    assert answered(worker) == 3 and checks == []
    # The same stamps and clients (reloads: counted once), the story read and checked.
    full = view(fresh.test_client(), f"{paths[0]}?lang=vi", "198.51.100.40")
    assert checks == ["intact"] and hot.status_code == full.status_code == 200
    assert _page(hot) == _page(full)
    assert said == view(fresh.test_client(), paths[1], "198.51.100.41", JSON).json
    assert _page(english) == _page(
        view(fresh.test_client(), f"{paths[2]}?lang=en", "198.51.100.42")
    )
    assert said["verdict"] == "GENUINE"


def test_a_lot_the_sweep_finds_tampered_is_not_shared_and_scans_tampered(
    worker: Flask,
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    lots: dict[int, list[str]],
    sweep: Callable[[], None],
) -> None:
    _tamper(session, farm_b.lot_id)
    sweep()
    assert session.exec(select(VerifiedStory.lot_id)).all() == [farm_a.lot_id]
    assert session.get(Lot, farm_b.lot_id).tampered_at is not None  # type: ignore[union-attr]
    paths = lots[farm_b.lot_id]
    said = view(worker.test_client(), paths[0], "198.51.100.42", JSON).json
    assert said["verdict"] == "TAMPERED" and said["anchoring"]["status"] == "tampered"
    page = view(worker.test_client(), paths[1], "198.51.100.43").get_data(as_text=True)
    assert 'data-verdict="TAMPERED"' in page


def test_a_lot_tampered_after_the_sweep_shared_it_scans_tampered_after_the_next_sweep(
    worker: Flask,
    session: Session,
    farm_b: Farm,
    lots: dict[int, list[str]],
    sweep: Callable[[], None],
    checks: list[str],
) -> None:
    sweep()
    assert session.get(VerifiedStory, farm_b.lot_id) is not None
    _tamper(session, farm_b.lot_id)  # the story's version, and so its shared row, stay
    sweep()
    said = view(worker.test_client(), lots[farm_b.lot_id][0], "198.51.100.44", JSON).json
    assert said["verdict"] == "TAMPERED" and said["anchoring"]["status"] == "tampered"


def test_the_sweep_writes_a_lots_story_once_per_version_and_day(
    session: Session,
    farm_a: Farm,
    farm_b: Farm,
    lots: dict[int, list[str]],
    sweep: Callable[[], None],
    saves: list[int],
) -> None:
    sweep()
    assert sorted(saves) == sorted([farm_a.lot_id, farm_b.lot_id])
    sweep()  # every INTEGRITY_INTERVAL_SECONDS: nothing new to share
    assert len(saves) == 2
    record_cooling(session, farm_a)
    refresh_document(session, farm_a.lot_id)
    session.commit()
    sweep()
    assert saves[2:] == [farm_a.lot_id]
    story = session.get(VerifiedStory, farm_a.lot_id)
    assert story is not None and "Cold store Tan Thanh" in story.story

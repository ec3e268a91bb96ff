"""A lot's story read (and its integrity checked) by one worker is taken by the others for
the same version and day (stamps.story_share), and never when it could be stale or forged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, select

from stamps import report
from stamps.models import VerifiedStory
from tests.registry_fixtures import Farm
from tests.stamps.test_scan_hotpath import JSON, PHONE, TOKEN, answered, stamped, view
from tests.stamps.test_scan_story_cache import record_cooling
from trace.anchoring import IntegrityReport, refresh_document
from trace.app import close_app, create_app

__all__ = ["stamped"]  # the hot path tests' fixture, used here


@pytest.fixture
def paths(session: Session, farm_a: Farm, stamped: list[str]) -> list[str]:
    """The stamped paths, their lot's document recorded (as the refresh job does)."""
    assert refresh_document(session, farm_a.lot_id) is not None
    session.commit()
    return stamped


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The integrity statuses of every check a story read made, in order."""
    made: list[str] = []
    check = report.check_integrity

    def counted(session: Session, lot_id: int) -> IntegrityReport:
        found = check(session, lot_id)
        made.append(found.status)
        return found

    monkeypatch.setattr(report, "check_integrity", counted)
    return made


@pytest.fixture
def worker(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """A second worker: the same service (database, secret), its own caches."""
    config = {
        **app_config,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": str(tmp_path / "worker"),
    }
    other = create_app(config)
    yield other
    close_app(other)


def test_another_worker_takes_the_verified_story_without_checking_it_again(
    app: Flask, worker: Flask, paths: list[str], checks: list[str]
) -> None:
    first = view(app.test_client(), f"{paths[0]}?lang=vi", "198.51.100.30")  # full view
    assert checks == ["intact"]
    by_other = view(worker.test_client(), f"{paths[1]}?lang=vi", "198.51.100.31")
    assert answered(worker) == 1 and checks == ["intact"]  # its hot path, no re-hashing
    by_full = view(app.test_client(), f"{paths[1]}?lang=vi", "198.51.100.31")  # reload
    assert by_other.status_code == first.status_code == 200
    page = TOKEN.sub(r"\1\2", by_other.get_data(as_text=True))
    assert page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))
    json_other = view(worker.test_client(), paths[2], "198.51.100.32", JSON).json
    json_app = view(app.test_client(), paths[2], "198.51.100.32", JSON).json
    assert json_other == json_app and json_other["verdict"] == "GENUINE"


def test_a_shared_story_changed_in_the_database_is_read_afresh_and_checked(
    app: Flask, worker: Flask, session: Session, paths: list[str], checks: list[str]
) -> None:
    real = view(app.test_client(), paths[0], "198.51.100.33", JSON).json
    forged = "replace(story, '\"pending\"', '\"anchored\"')"
    session.execute(text(f"UPDATE verified_lot_stories SET story = {forged}"))
    session.commit()
    assert "anchored" in session.exec(select(VerifiedStory.story)).one()
    said = view(worker.test_client(), paths[1], "198.51.100.34", JSON).json
    assert answered(worker) == 0 and checks == ["intact", "intact"]
    assert said["anchoring"] == real["anchoring"] == {"status": "pending"}


def test_a_new_story_version_is_read_afresh_by_every_worker(
    app: Flask,
    worker: Flask,
    session: Session,
    farm_a: Farm,
    paths: list[str],
    checks: list[str],
) -> None:
    view(app.test_client(), paths[0], "198.51.100.35", JSON)
    record_cooling(session, farm_a)
    refresh_document(session, farm_a.lot_id)
    session.commit()
    said = view(worker.test_client(), paths[1], "198.51.100.36", JSON).json
    assert checks == ["intact", "intact"]
    assert "Cold store Tan Thanh" in [event["place"] for event in said["events"]]
    again = view(app.test_client(), paths[2], "198.51.100.37", PHONE)
    assert checks == ["intact", "intact"]  # the first worker takes the new version's story
    assert "Cold store Tan Thanh" in again.get_data(as_text=True)


def test_a_story_read_while_the_lot_was_not_intact_is_not_shared(
    app: Flask,
    worker: Flask,
    session: Session,
    paths: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changing: list[str] = []
    check = report.check_integrity

    def still_changing(session: Session, lot_id: int) -> IntegrityReport:
        found = check(session, lot_id)
        changing.append(found.status)
        return IntegrityReport(**{**found.__dict__, "status": "changing"})

    monkeypatch.setattr(report, "check_integrity", still_changing)
    view(app.test_client(), paths[0], "198.51.100.38", JSON)
    assert session.get(VerifiedStory, 1) is None and len(changing) == 1
    view(worker.test_client(), paths[1], "198.51.100.39", JSON)
    assert answered(worker) == 0 and len(changing) == 2  # checked again by the other


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The language of every story fragment rendered (any app, any path)."""
    from flask_babel import get_locale

    from stamps.hotpath import page

    made: list[str] = []
    render = page.render_story

    def counted(report: Any) -> str:
        made.append(str(get_locale()))
        return render(report)

    monkeypatch.setattr(page, "render_story", counted)
    return made


def signed(*apps: Flask) -> None:
    """Each app's renderer has rendered its probe story (what its signature hashes)."""
    from stamps.extensions import story_cache

    for each in apps:
        assert story_cache(each).shared.renderer.signature  # type: ignore[union-attr]


def test_the_shared_story_carries_its_html_in_every_language(
    app: Flask, worker: Flask, paths: list[str], renders: list[str]
) -> None:
    signed(app, worker)
    renders.clear()
    # Shared by a Vietnamese reader of the full view: the English HTML is English too.
    view(app.test_client(), f"{paths[0]}?lang=vi", "198.51.100.40")
    assert sorted(renders) == ["en", "vi"]
    for n, lang in enumerate(("en", "vi")):
        by_other = view(worker.test_client(), f"{paths[1 + n]}?lang={lang}", f"198.51.100.4{n}")
        by_full = view(app.test_client(), f"{paths[1 + n]}?lang={lang}", f"198.51.100.4{n}")
        page = TOKEN.sub(r"\1\2", by_other.get_data(as_text=True))
        assert page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))
        assert ("Journey" in page) == (lang == "en") and ("Hành trình" in page) == (lang == "vi")
    assert answered(worker) == 2 and sorted(renders) == ["en", "vi"]  # the worker rendered none


def test_html_rendered_by_other_code_is_rendered_again(
    app: Flask, worker: Flask, paths: list[str], renders: list[str]
) -> None:
    from stamps.extensions import story_cache

    signed(app, worker)
    view(app.test_client(), f"{paths[0]}?lang=en", "198.51.100.43")
    renders.clear()
    renderer = story_cache(worker).shared.renderer  # type: ignore[union-attr]
    renderer._signature = "another deploy's templates"  # type: ignore[union-attr]
    by_other = view(worker.test_client(), f"{paths[1]}?lang=en", "198.51.100.44")
    by_full = view(app.test_client(), f"{paths[1]}?lang=en", "198.51.100.44")
    assert answered(worker) == 1 and renders == ["en"]  # its own render
    page = TOKEN.sub(r"\1\2", by_other.get_data(as_text=True))
    assert page == TOKEN.sub(r"\1\2", by_full.get_data(as_text=True))


@pytest.mark.parametrize("version", [(0, 0), (7, 12345678901), (3, None), ("2026-12-05", 4)])
def test_rows_shared_by_the_previous_release_still_verify(version: tuple[Any, ...]) -> None:
    """A rolling deploy: the version text and the HMAC are byte for byte what the earlier
    code wrote (``json.dumps`` of the figures as text; ``hmac.new(…).hexdigest()``)."""
    import hashlib
    import hmac
    import json
    from datetime import date

    from stamps.story_share import SharedStories, version_text

    text_before = json.dumps([None if v is None else str(v) for v in version])
    assert version_text(version) == text_before
    shared = SharedStories("secret", engine=None)  # type: ignore[arg-type]
    story = '{"events":[],"fragments":{"vi":"<p>Thanh long ruột đỏ</p>"}}'
    message = f"5|2|{text_before}|2026-12-05|{story}".encode()
    mac_before = hmac.new(shared._key, message, hashlib.sha256).hexdigest()
    assert shared._mac(5, 2, text_before, date(2026, 12, 5), story) == mac_before

"""The scan page keeps each lot's story between scans, and never shows a stale one.

A lot's events, certifications and anchoring are read once per story version
(``stamps.report.lot_story``); every change a consumer must see bumps that version.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from stamps import minting
from stamps.models import Stamp
from stamps.report import StoryCache, lot_story
from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from trace.models import Certification, Lot, Product
from trace.models.base import utcnow
from trace.services import events as event_service

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}


@pytest.fixture
def paths(session: Session, farm_a: Farm) -> list[str]:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 4, "1")
    lot = session.get(Lot, farm_a.lot_id)
    assert lot is not None
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.serial))).all()
    return [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]


def report(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path, headers=JSON)
    assert response.status_code == 200
    return response.json


def page(client: Any, path: str, lang: str = "en") -> str:
    response = client.get(f"{path}?lang={lang}", headers=PHONE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def record_cooling(session: Session, farm: Farm) -> None:
    """The farm's lot went into the Tan Thanh cold store an hour ago."""
    event_service.record_event(
        session,
        farm.actor,
        farm.lot_id,
        event_service.NewEvent(
            kind="cooling",
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            place="Cold store Tan Thanh",
            details={"temperature_c": "5"},
        ),
    )


def test_an_event_recorded_after_a_scan_shows_on_the_next_scan(
    client: Any, session: Session, farm_a: Farm, paths: list[str]
) -> None:
    before = page(client, paths[0])
    assert "Cold store Tan Thanh" not in before
    record_cooling(session, farm_a)
    assert "Cold store Tan Thanh" in page(client, paths[1])
    assert "Cold store Tan Thanh" in page(client, paths[0])  # the stamp scanned before, too
    places = [event["place"] for event in report(client, paths[2])["events"]]
    assert "Cold store Tan Thanh" in places


def test_a_new_certification_shows_on_the_next_scan(
    client: Any, session: Session, farm_a: Farm, paths: list[str]
) -> None:
    assert "VG-CACHE-77" not in page(client, paths[0])
    session.add(
        Certification(
            producer_id=farm_a.actor.producer_id,  # type: ignore[arg-type]
            scheme="vietgap",
            number="VG-CACHE-77",
            issuer="Chi cục Trồng trọt Long An",
            valid_from=date.today() - timedelta(days=10),
            valid_to=date.today() + timedelta(days=300),
            producer_wide=True,
        )
    )
    session.commit()
    assert "VG-CACHE-77" in page(client, paths[0])
    numbers = [cert["number"] for cert in report(client, paths[1])["certifications"]]
    assert "VG-CACHE-77" in numbers


def test_anchoring_and_tampering_show_on_the_next_scan(
    app: Flask, client: Any, session: Session, farm_a: Farm, paths: list[str]
) -> None:
    assert report(client, paths[0])["anchoring"]["status"] == "pending"
    anchor_everything(app)
    anchored = report(client, paths[0])["anchoring"]
    assert anchored["status"] == "anchored" and anchored["block"] >= 1
    assert anchored["proof"].endswith(paths[0].rsplit("/", 1)[1] + ".json")
    lot = session.get(Lot, farm_a.lot_id)
    assert lot is not None
    lot.tampered_at = utcnow()
    session.add(lot)
    session.commit()
    assert report(client, paths[1])["anchoring"]["status"] == "tampered"
    assert "TAMPERED" in page(client, paths[1])


def test_each_language_gets_its_own_rendering_of_the_story(client: Any, paths: list[str]) -> None:
    vietnamese = page(client, paths[0], "vi")
    english = page(client, paths[0], "en")
    assert "Hành trình" in vietnamese and "Journey" not in vietnamese
    assert "Journey" in english and "Hành trình" not in english
    assert "Hành trình" in page(client, paths[1], "vi")  # cached, still in its own language


def test_a_certificate_expires_at_midnight_for_a_cached_story(
    session: Session, farm_a: Farm
) -> None:
    today = date.today()
    session.add(
        Certification(
            producer_id=farm_a.actor.producer_id,  # type: ignore[arg-type]
            scheme="organic",
            number="ORG-LAST-DAY",
            issuer="Control Union",
            valid_from=today - timedelta(days=365),
            valid_to=today,
            producer_wide=True,
        )
    )
    session.commit()
    lot = session.get(Lot, farm_a.lot_id)
    assert lot is not None
    cache = StoryCache()

    def status(day: date) -> str:
        story = lot_story(session, lot, farm_a.actor.producer_id, day, cache)  # type: ignore[arg-type]
        return next(c["status"] for c in story.certifications if c["number"] == "ORG-LAST-DAY")

    assert status(today) == "valid"
    assert status(today + timedelta(days=1)) == "expired"
    assert status(today) == "valid"


def test_the_cache_keeps_one_story_per_version_and_forgets_the_oldest(
    session: Session, farm_a: Farm
) -> None:
    lot = session.get(Lot, farm_a.lot_id)
    assert lot is not None
    cache = StoryCache(size=2)
    first = lot_story(session, lot, farm_a.actor.producer_id, date.today(), cache)  # type: ignore[arg-type]
    again = lot_story(session, lot, farm_a.actor.producer_id, date.today(), cache)  # type: ignore[arg-type]
    assert again is first  # read once, then shared
    for days in (1, 2):
        lot_story(session, lot, farm_a.actor.producer_id, date.today() + timedelta(days), cache)  # type: ignore[arg-type]
    later = lot_story(session, lot, farm_a.actor.producer_id, date.today(), cache)  # type: ignore[arg-type]
    assert later is not first and later == first  # evicted, read again, same story

"""A lot's story version is kept by the database (migration 0022): every change to the rows
a scan's story is made of raises the lot's or its producer's counter in the same transaction,
whoever writes it (services, bulk inserts, hand-written SQL), and no other lot's or
producer's. The scan page's caches are keyed by those two counters (``stamps.report``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, col, select

from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from trace.models import AnchorRound, Certification, LotDocument, RoundStatus, User
from trace.services import events as event_service


def versions(session: Session, farm: Farm) -> tuple[int, int]:
    """(the lot's story version, its producer's) as committed now."""
    session.commit()
    row = session.execute(
        text(
            "SELECT lots.story_version, producers.story_version FROM lots "
            "JOIN producers ON producers.id = lots.producer_id WHERE lots.id = :lot"
        ),
        {"lot": farm.lot_id},
    ).one()
    return row[0], row[1]


def run(session: Session, sql: str, **values: Any) -> None:
    session.execute(text(sql), values)
    session.commit()


def test_events_raise_their_lots_version_only(session: Session, farm_a: Farm, farm_b: Farm) -> None:
    a, b = versions(session, farm_a), versions(session, farm_b)
    event_service.record_event(
        session,
        farm_a.actor,
        farm_a.lot_id,
        event_service.NewEvent("cooling", datetime.now(UTC) - timedelta(hours=1), "Tân Thạnh"),
    )
    assert versions(session, farm_a)[0] > a[0]
    assert versions(session, farm_a)[1] == a[1]  # the producer's certifications did not change
    assert versions(session, farm_b) == b


def test_documents_and_epcis_links_raise_the_lots_version_on_insert_update_and_delete(
    session: Session, farm_a: Farm, farm_b: Farm, inspector: User
) -> None:
    b = versions(session, farm_b)
    steps = [
        "INSERT INTO lot_documents (lot_id, version, canonical_json, doc_hash, created_at) "
        "VALUES (:lot, 900, '{}', 'aa', '2026-12-05 08:00:00')",
        "UPDATE lot_documents SET doc_hash = 'bb' WHERE lot_id = :lot AND version = 900",
        "DELETE FROM lot_documents WHERE lot_id = :lot AND version = 900",
        "INSERT INTO epcis_events (id, hash_id, event_type, event_time, document, "
        "captured_by_id, captured_at) VALUES (900, 'ni:///sha-256;x', 'ObjectEvent', "
        "'2026-12-05 08:00:00', '{}', :inspector, '2026-12-05 08:00:00')",
        "INSERT INTO epcis_event_lots (event_id, lot_id) VALUES (900, :lot)",
        "DELETE FROM epcis_event_lots WHERE event_id = 900",
    ]
    for sql in steps:
        before = versions(session, farm_a)
        run(session, sql, lot=farm_a.lot_id, inspector=inspector.id)
        after = versions(session, farm_a)
        if "epcis_events " in sql:
            assert after == before  # the event alone names no lot yet
        else:
            assert after[0] > before[0] and after[1] == before[1], sql
    assert versions(session, farm_b) == b


def test_certifications_and_what_they_cover_raise_the_producers_version_only(
    session: Session, farm_a: Farm, farm_b: Farm, admin: User
) -> None:
    b = versions(session, farm_b)
    certification = Certification(
        producer_id=farm_a.actor.producer_id,  # type: ignore[arg-type]
        scheme="vietgap",
        number="VG-VERSION-1",
        issuer="Chi cục Trồng trọt Long An",
        valid_from=date.today() - timedelta(days=10),
        valid_to=date.today() + timedelta(days=300),
    )
    before = versions(session, farm_a)
    session.add(certification)
    session.commit()
    added = versions(session, farm_a)
    assert added[1] > before[1] and added[0] == before[0]
    certification.verified_at = datetime.now(UTC)
    certification.verified_by_id = admin.id
    session.add(certification)
    session.commit()
    verified = versions(session, farm_a)
    assert verified[1] > added[1]
    steps = [
        "INSERT INTO certification_products (certification_id, product_id) VALUES (:c, :p)",
        "DELETE FROM certification_products WHERE certification_id = :c",
        "DELETE FROM certifications WHERE id = :c",
    ]
    for sql in steps:
        before = versions(session, farm_a)
        run(session, sql, c=certification.id, p=farm_a.product_id)
        assert versions(session, farm_a)[1] > before[1], sql
    assert versions(session, farm_b) == b


def test_a_round_changing_status_raises_the_version_of_every_lot_in_it(
    app: Flask, session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    anchor_everything(app)  # both lots' first documents, confirmed in one round
    in_rounds = select(LotDocument.round_id).where(
        col(LotDocument.lot_id).in_([farm_a.lot_id, farm_b.lot_id])
    )
    [round_id] = set(session.exec(in_rounds))
    anchor = session.get(AnchorRound, round_id)
    assert anchor is not None and anchor.status == RoundStatus.CONFIRMED
    a, b = versions(session, farm_a), versions(session, farm_b)
    run(session, "UPDATE anchor_rounds SET status = 'failed' WHERE id = :r", r=round_id)
    assert versions(session, farm_a)[0] > a[0] and versions(session, farm_b)[0] > b[0]
    a, b = versions(session, farm_a), versions(session, farm_b)
    run(session, "UPDATE anchor_rounds SET attempts = attempts + 1 WHERE id = :r", r=round_id)
    assert (versions(session, farm_a), versions(session, farm_b)) == (a, b)  # status unchanged

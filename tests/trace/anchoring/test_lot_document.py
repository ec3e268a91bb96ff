"""The lot document has one builder: per lot and in bulk it gives the same bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from chain.canonical import canonical_json, document_hash
from stamps import minting
from tests.registry_fixtures import Farm
from trace.anchoring.documents import (
    DOCUMENT_SCHEMA,
    SCHEMA_1,
    SCHEMA_2,
    build_document,
    build_documents,
    refresh_document,
)
from trace.anchoring.lot_document import LotFacts, encoded, lot_document
from trace.models import Certification, Event, Lot, Plot, Producer, Product, User
from trace.models.epcis import CapturedEvent, CapturedEventLot
from trace.services import lots
from trace.services.accounts import actor_for
from trace.services.events import NewEvent, record_event
from trace.services.recall import recall_lot

VN = datetime.now(UTC).astimezone().tzinfo


def at(hours_ago: int) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours_ago)


def certify(session: Session, farm: Farm, number: str, **coverage: bool) -> None:
    session.add(
        Certification(
            producer_id=farm.actor.producer_id,  # type: ignore[arg-type]
            scheme="vietgap",
            number=number,
            issuer="Chi cục Trồng trọt Long An",
            valid_from=date.today() - timedelta(days=30),
            valid_to=date.today() + timedelta(days=300),
            **coverage,
        )
    )
    session.commit()


def attach_captured(session: Session, farm: Farm, lot_id: int, n: int, hours_ago: int) -> None:
    event = CapturedEvent(
        hash_id=f"ni:///sha-256;{n:064x}?ver=CBV2.0",
        event_type="ObjectEvent",
        event_time=at(hours_ago),
        biz_step="https://ref.gs1.org/cbv/BizStep-receiving",
        biz_location="urn:epc:id:sgln:0012345.11111.0",
        document={"type": "ObjectEvent"},
        captured_by_id=farm.user.id,  # type: ignore[arg-type]
    )
    session.add(event)
    session.flush()
    session.add(CapturedEventLot(event_id=event.id, lot_id=lot_id))  # type: ignore[arg-type]
    session.commit()


@pytest.fixture
def varied_lots(session: Session, farm_a: Farm, farm_b: Farm, inspector: User) -> dict[str, int]:
    """Lots of two producers: bare, with events, certificates, inputs, captured events,
    stamps and a recall."""
    certify(session, farm_a, "VG-WIDE-1", producer_wide=True)
    certify(session, farm_a, "VG-NAMES-NONE")
    for kind, details in (("harvest", {}), ("cooling", {"temperature_c": 6.0})):
        new = NewEvent(kind, at(30).astimezone(VN), "Vườn 1", details)
        record_event(session, farm_a.actor, farm_a.lot_id, new)
    second = lots.create_lot(
        session,
        farm_a.actor,
        lots.NewLot(farm_a.product_id, "TL-NOPLOT", date.today() - timedelta(days=5), "80", "kg"),
        date.today(),
    )
    mixed = lots.transform_lots(
        session,
        farm_a.actor,
        [farm_a.lot_id, second.id],  # type: ignore[list-item]
        lots.NewLot(farm_a.product_id, "MIX-1", None, "300", "kg"),
        at(2).astimezone(VN),
        "Xưởng sơ chế",
        date.today(),
    )
    attach_captured(session, farm_b, farm_b.lot_id, 1, hours_ago=5)
    attach_captured(session, farm_b, farm_b.lot_id, 2, hours_ago=9)
    minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 3, "1")
    recall_lot(session, actor_for(inspector), second.id, "Dư lượng vượt ngưỡng", [])  # type: ignore[arg-type]
    return {
        "with_events": farm_a.lot_id,
        "no_plot_recalled": second.id,  # type: ignore[dict-item]
        "transformed": mixed.id,  # type: ignore[dict-item]
        "captured_and_stamped": farm_b.lot_id,
    }


@pytest.mark.parametrize("schema", [DOCUMENT_SCHEMA, SCHEMA_2, SCHEMA_1])
def test_bulk_and_per_lot_documents_are_the_same_bytes(
    session: Session, varied_lots: dict[str, int], schema: str
) -> None:
    ids = list(varied_lots.values())
    in_bulk = build_documents(session, ids, schema=schema)
    assert sorted(in_bulk) == sorted(ids)
    for lot_id in ids:
        one = build_document(session, lot_id, schema=schema)
        assert canonical_json(in_bulk[lot_id]) == canonical_json(one)
        assert encoded(in_bulk[lot_id])[1] == document_hash(one).hex()


def test_the_varied_lots_cover_every_part_of_the_document(
    session: Session, varied_lots: dict[str, int]
) -> None:
    documents = build_documents(session, list(varied_lots.values()))
    events = documents[varied_lots["with_events"]]
    assert len(events["events"]) == 2 and len(events["passport"]["stages"]) == 2
    assert [c["number"] for c in events["certifications"]] == ["VG-WIDE-1", "VG-NAMES-NONE"]
    recalled = documents[varied_lots["no_plot_recalled"]]
    assert recalled["lot"]["plot"] is None and recalled["lot"]["recalled_at"] is not None
    assert [i["code"] for i in documents[varied_lots["transformed"]]["inputs"]] == [
        "TL-1",
        "TL-NOPLOT",
    ]
    other = documents[varied_lots["captured_and_stamped"]]
    assert other["certifications"] == [] and other["stamp_count"] == 3
    times = [e["event_time"] for e in other["captured_events"]]
    assert len(times) == 2 and times == sorted(times)
    assert "captured_events" not in build_document(
        session, varied_lots["captured_and_stamped"], schema=SCHEMA_1
    )


def test_a_refreshed_version_stores_the_builders_bytes(
    session: Session, varied_lots: dict[str, int]
) -> None:
    for lot_id in varied_lots.values():
        version = refresh_document(session, lot_id)
        assert version is not None
        canonical, digest = encoded(build_document(session, lot_id))
        assert (version.canonical_json, version.doc_hash) == (canonical, digest)


def test_unknown_lots_are_left_out_in_bulk_and_refused_one_by_one(
    session: Session, farm_a: Farm
) -> None:
    assert list(build_documents(session, [farm_a.lot_id, 999_999])) == [farm_a.lot_id]
    with pytest.raises(LookupError):
        build_document(session, 999_999)


def test_the_builder_needs_no_database() -> None:
    """Facts held in memory build the same schema differences the stored lots show."""
    producer = Producer(id=1, name="HTX", kind="cooperative", registration_number="1",
                        commune="Xã A", district="Huyện B", phone="0", gln=None)  # fmt: skip
    product = Product(id=1, producer_id=1, name_vi="Gạo", name_en="Rice", category="grain",
                      unit="kg", gtin="08937000000001")  # fmt: skip
    plot = Plot(id=1, producer_id=1, name="Ruộng", area_ha=1.0, latitude=10.5, longitude=106.4)
    lot = Lot(id=1, producer_id=1, product_id=1, plot_id=1, code="ST-1",
              harvest_date=date(2025, 5, 1), quantity=Decimal("1000.000"), unit="kg")  # fmt: skip
    harvest = Event(id=1, lot_id=1, producer_id=1, kind="harvest", occurred_at=at(24),
                    tz_offset_minutes=420, place="Ruộng", recorded_by_id=1)  # fmt: skip
    facts = LotFacts(lot, product, producer, plot, events=[harvest])
    newest, second, first = (lot_document(facts, s) for s in (DOCUMENT_SCHEMA, SCHEMA_2, SCHEMA_1))
    assert newest["passport"]["missing"] == ["product_image", "location_code", "certificates"]
    assert {k: v for k, v in newest.items() if k not in ("passport", "schema")} == {
        k: v for k, v in second.items() if k != "schema"
    }
    assert "passport" not in second and first["events"] != second["events"]  # ILMD

"""The outbox: every listing change writes its job with it; the worker makes it true remotely."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from marketplace.services import ListingChoice, queue_delist, save_listings
from tests.marketplace.conftest import BOTH, SandboxAdmin, gtin, offer, remote, stamp
from tests.registry_fixtures import Farm
from trace.errors import NotFound, ValidationError
from trace.models import Job, Lot, User
from trace.services import lots
from trace.services.accounts import actor_for
from trace.services.recall import recall_lot


def test_saving_a_listing_writes_its_sync_job_in_the_same_transaction(
    session: Session, farm_a: Farm
) -> None:
    rows = offer(session, farm_a)
    assert [(r.marketplace, r.state, r.price_vnd) for r in rows] == [
        ("postmart", "syncing", 35000),
        ("voso", "syncing", 35000),
    ]
    queued = session.exec(select(Job).where(Job.kind == "marketplace.sync_listing")).all()
    assert sorted(j.payload["listing_id"] for j in queued) == sorted(r.id for r in rows)


def test_a_rejected_listing_change_leaves_neither_row_nor_job(
    session: Session, farm_a: Farm
) -> None:
    with pytest.raises(ValidationError) as raised:
        offer(session, farm_a, price="12,5")
    assert set(raised.value.errors) == {"postmart_price_vnd", "voso_price_vnd"}
    assert session.exec(select(ListingSync)).all() == []
    assert session.exec(select(Job).where(Job.kind == "marketplace.sync_listing")).all() == []


def test_prices_as_farmers_type_them_are_read_as_whole_dong(session: Session, farm_a: Farm) -> None:
    rows = offer(session, farm_a, price="35.000 đ", stock="1,200")
    assert {(r.price_vnd, r.stock) for r in rows} == {(35000, 1200)}


def test_a_farmer_cannot_list_another_producers_product(
    session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    with pytest.raises(NotFound):
        save_listings(
            session,
            farm_b.actor,
            farm_a.product_id,
            [ListingChoice("voso", True, "1000", "1")],
            BOTH,
        )


def test_product_listed_on_both_marketplaces_with_its_trace_link_and_lot_qr(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 25)
    offer(session, farm_a)
    work()
    sku = gtin(session, farm_a)
    [pm] = remote(postmart_admin, sku)
    [vo] = remote(voso_admin, sku)
    # One lot on sale: the trace link is that lot's page.
    link = f"https://trace.example.vn/01/{sku}/10/TL-1"
    assert pm["doc"]["truy_xuat"]["duong_dan"] == link
    assert pm["doc"]["truy_xuat"]["lo_hang"] == [
        {
            "ma_lo": "TL-1",
            "duong_dan": link,
            "ma_qr": f"https://trace.example.vn/marketplace/lots/{farm_a.lot_id}/qr.png",
        }
    ]
    assert vo["doc"]["traceability"]["url"] == link
    assert vo["doc"]["traceability"]["lots"][0]["lot_code"] == "TL-1"
    assert (pm["doc"]["gia_ban"], vo["doc"]["price"]) == (35000, 35000)
    # Mass balance: 40 wanted, but only 25 packs carry an active stamp.
    assert (pm["doc"]["so_luong"], vo["doc"]["stock"]) == (25, 25)
    rows = session.exec(select(ListingSync)).all()
    assert {(r.state, r.sent_stock) for r in rows} == {(ListingState.LISTED, 25)}
    assert all(r.external_id and r.last_synced_at for r in rows)


def test_a_price_change_propagates_without_a_new_listing(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 10)
    offer(session, farm_a)
    work()
    offer(session, farm_a, price="42000", stock="5")
    work()
    sku = gtin(session, farm_a)
    [pm], [vo] = remote(postmart_admin, sku), remote(voso_admin, sku)
    assert (pm["doc"]["gia_ban"], pm["doc"]["so_luong"]) == (42000, 5)
    assert (vo["doc"]["price"], vo["doc"]["stock"]) == (42000, 5)


def test_a_new_lot_reaches_the_listing_through_the_outbox(
    app: Flask, session: Session, farm_a: Farm, work: Callable[..., int], voso_admin: SandboxAdmin
) -> None:
    stamp(session, farm_a, 2)  # lots on sale are lots with stamps to sell
    offer(session, farm_a, on=["voso"])
    work()
    new = lots.NewLot(farm_a.product_id, "TL-2", date.today(), "300", "kg", farm_a.plot_id)
    lot = lots.create_lot(session, farm_a.actor, new, date.today())
    assert session.exec(select(Job).where(Job.kind == "marketplace.sync_product")).all()
    stamp(session, farm_a, 2, lot.id)  # type: ignore[arg-type]
    work()
    [vo] = remote(voso_admin, gtin(session, farm_a))
    assert [entry["lot_code"] for entry in vo["doc"]["traceability"]["lots"]] == ["TL-2", "TL-1"]
    # Two lots on sale: the trace link is the product's page, each lot keeps its own link.
    assert (
        vo["doc"]["traceability"]["url"] == f"https://trace.example.vn/01/{gtin(session, farm_a)}"
    )
    assert vo["doc"]["traceability"]["lots"][0]["qr_image"].endswith(f"/lots/{lot.id}/qr.png")


def test_unticking_a_marketplace_delists_there_only(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    offer(session, farm_a)
    work()
    offer(session, farm_a, on=["voso"])
    work()
    sku = gtin(session, farm_a)
    assert [listing["status"] for listing in remote(postmart_admin, sku)] == ["da_go"]
    assert [listing["status"] for listing in remote(voso_admin, sku)] == ["NORMAL"]
    offer(session, farm_a)  # ticked again: the same listing comes back
    work()
    assert [listing["status"] for listing in remote(postmart_admin, sku)] == ["dang_ban"]


def test_recall_delists_on_both_marketplaces_in_one_worker_cycle(
    session: Session,
    farm_a: Farm,
    inspector: User,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    offer(session, farm_a)
    work()
    reason = "Dư lượng thuốc trừ sâu vượt mức"
    recall_lot(session, actor_for(inspector), farm_a.lot_id, reason, [], delist=queue_delist)
    assert work() == 1  # the one delist job does every marketplace
    sku = gtin(session, farm_a)
    assert [listing["status"] for listing in remote(postmart_admin, sku)] == ["da_go"]
    assert [listing["status"] for listing in remote(voso_admin, sku)] == ["UNLIST"]
    rows = session.exec(select(ListingSync)).all()
    assert {(r.state, r.enabled) for r in rows} == {(ListingState.DELISTED, False)}
    assert all("Dư lượng" in r.note for r in rows)


def test_the_delist_job_is_idempotent(
    app: Flask, session: Session, farm_a: Farm, work: Callable[..., int], voso_admin: SandboxAdmin
) -> None:
    from marketplace.worker import handle_delist

    offer(session, farm_a, on=["voso"])
    work()
    payload = {"product_id": farm_a.product_id, "lot_id": farm_a.lot_id, "reason": "test"}
    with app.app_context():
        handle_delist(session, payload)
        handle_delist(session, payload)
    assert [listing["status"] for listing in voso_admin.listings()] == ["UNLIST"]


def test_a_recalled_lot_leaves_the_listing_and_its_stamps_leave_the_stock(
    session: Session,
    farm_a: Farm,
    inspector: User,
    work: Callable[..., int],
    voso_admin: SandboxAdmin,
) -> None:
    second = lots.create_lot(
        session,
        farm_a.actor,
        lots.NewLot(farm_a.product_id, "TL-2", date.today(), "300", "kg"),
        date.today(),
    )
    stamp(session, farm_a, 10)
    stamp(session, farm_a, 7, lot_id=second.id)
    recall_lot(session, actor_for(inspector), farm_a.lot_id, "Nhiễm khuẩn", [], delist=queue_delist)
    work()
    offer(session, farm_a, on=["voso"])  # the farmer lists the product again after the recall
    work()
    [vo] = voso_admin.listings()
    assert [entry["lot_code"] for entry in vo["doc"]["traceability"]["lots"]] == ["TL-2"]
    assert session.get(Lot, farm_a.lot_id).recalled_at is not None  # type: ignore[union-attr]
    assert vo["doc"]["stock"] <= 7

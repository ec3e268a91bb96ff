"""Price and stock updates of many listings go to voso in batches of 50, not one by one."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from marketplace.services import JOB_SYNC_PRICE_STOCK, ListingChoice, save_listings
from tests.marketplace.conftest import SandboxAdmin, stamp
from tests.registry_fixtures import Farm
from trace.models import Job
from trace.services import holdings, lots

PRICE_STOCK = "POST /api/v2/items/price_stock"
CREATE = "POST /api/v2/items"


def many_products(session: Session, farm: Farm, count: int) -> list[tuple[int, int]]:
    """``count`` more products of the farm, each with a lot on sale (one stamp), listed on
    voso: (product, lot). A lot going on sale changes what a listing shows (its lots), so
    it is listed with one already; the stamps minted later change only its stock."""
    made = []
    for n in range(count):
        product = holdings.add_product(
            session, farm.actor, name_vi=f"Thanh long {n}", name_en=f"Dragon fruit {n}",
            category="fruit", unit="kg", gtin=None,
        )  # fmt: skip
        lot = lots.create_lot(
            session,
            farm.actor,
            lots.NewLot(product.id, f"B-{n}", date.today() - timedelta(days=1), "100", "kg", None),  # type: ignore[arg-type]
            date.today(),
        )
        stamp(session, farm, 1, lot.id)  # type: ignore[arg-type]
        choice = [ListingChoice("voso", True, "30000", "40")]
        save_listings(session, farm.actor, product.id, choice, ["voso"])  # type: ignore[arg-type]
        made.append((product.id, lot.id))
    return made  # type: ignore[return-value]


def test_stock_changes_of_many_listings_go_in_ceil_n_over_50_calls(
    session: Session, farm_a: Farm, voso_admin: SandboxAdmin, work: Callable[..., int]
) -> None:
    voso_admin.unlimited()
    made = many_products(session, farm_a, 55)
    work(limit=1000)
    created = voso_admin.stats()["paths"]
    assert created[CREATE] == 55  # first creates stay one call per listing
    assert {item["doc"]["stock"] for item in voso_admin.listings()} == {1}

    for _, lot_id in made:  # stamps activated on every lot: 55 products change stock at once
        stamp(session, farm_a, 3, lot_id)
    work()

    paths = voso_admin.stats()["paths"]
    assert paths[PRICE_STOCK] == math.ceil(55 / 50) == 2
    assert paths[CREATE] == 55 and "POST /api/v2/items/{id}/update" not in paths
    assert {item["doc"]["stock"] for item in voso_admin.listings()} == {4}
    rows = session.exec(select(ListingSync)).all()
    assert {(row.state, row.sent_stock) for row in rows} == {(ListingState.LISTED, 4)}
    assert session.exec(select(Job).where(Job.kind == JOB_SYNC_PRICE_STOCK)).all()


def test_an_item_the_batch_refuses_is_sent_again_on_its_own(
    session: Session, farm_a: Farm, voso_admin: SandboxAdmin, work: Callable[..., int]
) -> None:
    voso_admin.unlimited()
    made = many_products(session, farm_a, 3)
    work()
    unlisted = voso_admin.listings()[0]["id"]  # unlisted by hand in the shop: batches refuse it
    with voso_admin.running.app.store.write() as conn:
        conn.execute("UPDATE listings SET status = 'UNLIST' WHERE id = ?", (unlisted,))
    for _, lot_id in made:
        stamp(session, farm_a, 2, lot_id)
    work()

    paths = voso_admin.stats()["paths"]
    assert paths[PRICE_STOCK] == 1  # one batch of 3: one item refused (unlisted)
    assert paths["POST /api/v2/items/{id}/update"] == 1  # a full update of it relists it
    assert {(i["status"], i["doc"]["stock"]) for i in voso_admin.listings()} == {("NORMAL", 3)}


def test_a_batch_that_fails_for_now_is_retried_whole(
    session: Session, farm_a: Farm, voso_admin: SandboxAdmin, work: Callable[..., int]
) -> None:
    voso_admin.unlimited()
    made = many_products(session, farm_a, 4)
    work()
    voso_admin.fail_next("5xx", method="POST", path="/api/v2/items/price_stock")
    for _, lot_id in made:
        stamp(session, farm_a, 1, lot_id)
    work()

    assert voso_admin.stats()["paths"][PRICE_STOCK] == 2  # failed once, then all four at once
    assert {item["doc"]["stock"] for item in voso_admin.listings()} == {2}
    rows = session.exec(select(ListingSync)).all()
    assert {row.state for row in rows} == {ListingState.LISTED}

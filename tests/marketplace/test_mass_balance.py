"""Listed stock never exceeds the active (unsold) stamps of the product's sellable lots."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp
from stamps.voiding import labels_by_serial, void_labels
from tests.marketplace.conftest import SandboxAdmin, gtin, offer, remote, stamp
from tests.registry_fixtures import Farm


def listed_stock(session: Session, farm: Farm, *admins: SandboxAdmin) -> list[int]:
    sku = gtin(session, farm)
    stocks = []
    for admin in admins:
        [listing] = remote(admin, sku)
        stocks.append(listing["doc"].get("so_luong", listing["doc"].get("stock")))
    return stocks


def test_stamps_minted_but_not_applied_do_not_count_as_stock(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 10)
    mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")  # printed, not yet on packs
    offer(session, farm_a, stock="100")
    work()
    assert listed_stock(session, farm_a, postmart_admin, voso_admin) == [10, 10]


def test_activating_stamps_raises_the_listed_stock_up_to_the_farmers_figure(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 10)
    offer(session, farm_a, stock="25")
    work()
    run = mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")
    activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]
    work()
    assert listed_stock(session, farm_a, postmart_admin, voso_admin) == [25, 25]


def test_voiding_stamps_lowers_the_listed_stock_at_once(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    stamp(session, farm_a, 10)
    offer(session, farm_a, stock="40")
    work()
    assert listed_stock(session, farm_a, postmart_admin, voso_admin) == [10, 10]
    serials = session.exec(
        select(Stamp.serial).where(Stamp.lot_id == farm_a.lot_id).order_by(col(Stamp.serial))
    ).all()
    labels = labels_by_serial(session, farm_a.actor, farm_a.lot_id, "\n".join(serials[:4]))
    assert len(void_labels(session, farm_a.actor, farm_a.lot_id, labels).stamps) == 4
    work()
    assert listed_stock(session, farm_a, postmart_admin, voso_admin) == [6, 6]

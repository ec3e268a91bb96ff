"""The scan limit the hot path reads with each stamp (``products.scan_limit``, kept by
migration 0023's triggers) is always the one the clone rules apply (``limits_of``, read from
``clone_thresholds``), whoever changes the thresholds, and a scan sees a change at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select

from stamps import minting
from stamps.clone_rules import MAX_SCANS
from stamps.flag_review import clear_limits, limits_of, set_limits
from stamps.models import CloneThreshold, Stamp
from tests.registry_fixtures import Farm
from trace.models import Lot, Product, User
from trace.services import holdings
from trace.services.access import Actor

JSON = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile",
    "Accept": "application/json",
}


def in_force(session: Session) -> dict[int, tuple[int, int]]:
    """Per product: (what the hot path reads, what the clone rules apply), as committed."""
    session.commit()
    session.expire_all()
    read = {row[0]: row[1] for row in session.execute(text("SELECT id, scan_limit FROM products"))}
    return {
        product_id: (limit or MAX_SCANS, limits_of(session, product_id).max_scans)
        for product_id, limit in read.items()
    }


def agrees(session: Session, expected: dict[int, int]) -> None:
    limits = in_force(session)
    assert {product: hot for product, (hot, _rules) in limits.items()} == expected
    assert all(hot == rules for hot, rules in limits.values())


def test_the_limit_follows_every_change_to_the_thresholds(
    session: Session, make_farm: Callable[[int], Farm], admin: User
) -> None:
    a, b = make_farm(1), make_farm(2)
    pa, pb = a.product_id, b.product_id
    actor = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    agrees(session, {pa: MAX_SCANS, pb: MAX_SCANS})  # nothing set: the built-in
    set_limits(session, actor, None, {"max_scans": 30})  # the province default
    agrees(session, {pa: 30, pb: 30})
    set_limits(session, actor, pa, {"max_scans": 5})  # A's own
    agrees(session, {pa: 5, pb: 30})
    set_limits(session, actor, None, {"max_scans": 20})  # a new default spares A's own
    agrees(session, {pa: 5, pb: 20})
    set_limits(session, actor, pa, {"max_scans": None, "max_travel_kmh": 300})
    agrees(session, {pa: 20, pb: 20})  # A's row sets another limit: the default's applies
    set_limits(session, actor, pa, {"max_scans": 4})
    clear_limits(session, actor, pa)  # A's row dropped
    agrees(session, {pa: 20, pb: 20})
    # A product added now takes the default; hand-written SQL is covered too.
    c = make_farm(3)
    agrees(session, {pa: 20, pb: 20, c.product_id: 20})
    session.execute(text("UPDATE clone_thresholds SET max_scans = 9 WHERE product_id IS NULL"))
    agrees(session, {pa: 9, pb: 9, c.product_id: 9})
    session.execute(text("DELETE FROM clone_thresholds"))
    agrees(session, {pa: MAX_SCANS, pb: MAX_SCANS, c.product_id: MAX_SCANS})


def test_a_product_made_through_the_service_has_the_default(
    session: Session, farm_a: Farm, admin: User
) -> None:
    actor = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    set_limits(session, actor, None, {"max_scans": 12})
    product = holdings.add_product(
        session, farm_a.actor, name_vi="Chanh không hạt", name_en="Seedless lemon",
        category="fruit", unit="kg", gtin=None,
    )  # fmt: skip
    assert in_force(session)[product.id] == (12, 12)  # type: ignore[index]


def test_the_next_scan_sees_a_lowered_default(
    app: Flask, session: Session, farm_a: Farm, admin: User
) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 2, "1")
    lot = session.get(Lot, farm_a.lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    serials = session.exec(select(Stamp.serial).order_by(col(Stamp.serial))).all()
    paths = [f"/01/{gtin}/10/{lot.code}/21/{s}" for s in serials]  # type: ignore[union-attr]
    client = app.test_client()

    def verdict(path: str, n: int) -> str:
        answer = client.get(path, headers=JSON, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        return str(answer.json["verdict"])  # type: ignore[index]

    assert [verdict(paths[0], n) for n in (1, 2, 3)] == ["GENUINE"] * 3
    actor = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    set_limits(session, actor, None, {"max_scans": 3})  # the worker answering keeps running
    assert verdict(paths[0], 4) == "SUSPICIOUS"  # its fourth scan, past the new default
    assert [verdict(paths[1], n) for n in (5, 6, 7, 8)] == ["GENUINE"] * 3 + ["SUSPICIOUS"]
    assert session.exec(select(CloneThreshold)).one().max_scans == 3


def test_a_product_added_while_the_default_changes_gets_the_new_default(
    database_url: str, session: Session, farm_a: Farm, admin: User
) -> None:
    """Two writers on PostgreSQL (READ COMMITTED): one adds a product and has not committed
    when the other changes the default; whichever order they commit in, the product ends
    with the default in force."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    actor = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    set_limits(session, actor, None, {"max_scans": 30})
    session.close()
    engine = create_engine(database_url)
    adder = engine.connect()
    try:
        adder.execute(
            text(
                "INSERT INTO products (producer_id, name_vi, name_en, category, unit, gtin, "
                "scan_threshold, created_at) SELECT producer_id, 'Lúa', 'Rice', 'grain', 'kg', "
                "'08930000999990', 50, now() FROM products WHERE id = :p"
            ),
            {"p": farm_a.product_id},
        )  # not committed yet
        changed = threading.Event()

        def change_default() -> None:
            with engine.begin() as other:
                other.execute(
                    text("UPDATE clone_thresholds SET max_scans = 7 WHERE product_id IS NULL")
                )
            changed.set()

        changer = threading.Thread(target=change_default)
        changer.start()
        assert not changed.wait(0.5)  # it waits for the product's transaction
        adder.commit()
        changer.join(10)
        assert changed.is_set()
    finally:
        adder.close()
        engine.dispose()
    limits = in_force(session)
    assert {hot for hot, _rules in limits.values()} == {7}
    assert all(hot == rules for hot, rules in limits.values())

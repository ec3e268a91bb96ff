"""The national traceability portal connector, against the portal sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, select

from marketplace.listing import lot_link
from marketplace.portal.models import PortalPush, PortalRecord, RecordState
from marketplace.portal.services import JOB_PUSH_LOT, set_enrolment
from marketplace.sandbox.portal import PortalSandbox
from marketplace.sandbox.servers import RunningSandbox, start
from tests.marketplace.conftest import SandboxAdmin, fast_forward
from tests.registry_fixtures import Farm, login
from trace import jobs
from trace.models import Job, Lot, Product, User
from trace.services.access import Actor
from trace.services.accounts import actor_for
from trace.services.events import NewEvent, record_event
from trace.services.recall import recall_hooks, recall_lot

BASE = "https://trace.example.vn"


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    folder: Path = tmp_path_factory.mktemp("portal")
    running = start(PortalSandbox(folder / "portal.db"))
    yield running
    running.stop()


@pytest.fixture
def portal(portal_server: RunningSandbox) -> SandboxAdmin:
    admin = SandboxAdmin(portal_server)
    admin.reset()
    return admin


@pytest.fixture
def app_config(app_config: dict[str, Any], portal: SandboxAdmin) -> dict[str, Any]:
    return app_config | {"PORTAL_URL": portal.url}


@pytest.fixture
def work(app: Flask, session: Session) -> Callable[[], int]:
    """Run the portal's (and marketplace's) jobs as a worker would, skipping backoffs."""
    registry = jobs.handlers(app)
    for kind in [k for k in registry if not k.startswith(("portal.", "marketplace."))]:
        del registry[kind]

    def run(limit: int = 100) -> int:
        ran = 0
        with app.app_context():
            while ran < limit:
                fast_forward(session)
                if not jobs.run_one(app, session, "test-worker"):
                    return ran
                ran += 1
        raise AssertionError(f"jobs still running after {limit}")

    return run


def objects(portal: SandboxAdmin, collection: str) -> list[dict[str, Any]]:
    return [o for o in portal.listings() if o["collection"] == collection]


def ship_and_receive(session: Session, farm: Farm) -> None:
    when = datetime.now(UTC) - timedelta(hours=2)
    shipped = NewEvent("shipping", when, "Châu Thành", {"destination": "Kho Tân An"})
    received = NewEvent(
        "receiving", when + timedelta(hours=1), "Kho Tân An", {"source": "HTX Thanh Long"}
    )
    record_event(session, farm.actor, farm.lot_id, shipped)
    record_event(session, farm.actor, farm.lot_id, received)


def opt_in(session: Session, farm: Farm) -> None:
    set_enrolment(session, farm.actor, True)


def test_opted_in_producers_products_lots_and_stage_events_land_on_the_portal(
    session: Session, farm_a: Farm, farm_b: Farm, portal: SandboxAdmin, work: Callable[[], int]
) -> None:
    ship_and_receive(session, farm_a)
    ship_and_receive(session, farm_b)
    opt_in(session, farm_a)
    work()

    product = session.get(Product, farm_a.product_id)
    lot = session.get(Lot, farm_a.lot_id)
    assert product is not None and lot is not None
    (org,) = objects(portal, "organizations")
    assert org["tax_code"] == "1100000001" and org["status"] == "active"
    (pushed,) = objects(portal, "products")  # farm B did not opt in: nothing of theirs
    assert pushed["gtin"] == product.gtin and pushed["organization_id"] == org["id"]
    (area,) = objects(portal, "growing_areas")
    assert area["area_ha"] == 1.5
    (order,) = objects(portal, "production_orders")
    assert order["order_code"] == lot.code and order["growing_area_id"] == area["id"]
    assert order["trace_code"] == lot_link(BASE, product.gtin, lot.code)
    stages = [e["stage"] for e in objects(portal, "stage_events")]
    assert stages == ["transport", "warehouse"]
    assert {e["trace_code"] for e in objects(portal, "stage_events")} == {order["trace_code"]}

    before = portal.stats()["requests"]
    work_again = set_enrolment(session, farm_a.actor, True)  # pushes again: nothing new
    assert work_again.enabled
    work()
    assert portal.stats()["requests"] == before  # nothing changed, nothing sent (token kept)


def test_a_later_event_is_pushed_by_the_periodic_reconciliation(
    app: Flask, session: Session, farm_a: Farm, portal: SandboxAdmin, work: Callable[[], int]
) -> None:
    opt_in(session, farm_a)
    work()
    assert objects(portal, "stage_events") == []
    ship_and_receive(session, farm_a)
    idle = jobs.worker_on_idle(app)
    assert idle is not None
    idle()  # the worker's idle sweep queues enrolled producers
    work()
    assert [e["stage"] for e in objects(portal, "stage_events")] == ["transport", "warehouse"]


def test_a_bad_gtin_is_refused_by_the_portal_and_shown_to_the_admin(
    app: Flask,
    session: Session,
    farm_a: Farm,
    admin: User,
    portal: SandboxAdmin,
    work: Callable[[], int],
) -> None:
    product = session.get(Product, farm_a.product_id)
    assert product is not None
    good = product.gtin
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)  # as data imported before checks had it
    session.execute(update(Product).where(col(Product.id) == product.id).values(gtin=bad))
    session.commit()
    opt_in(session, farm_a)
    work()

    assert objects(portal, "products") == [] and objects(portal, "production_orders") == []
    records = {r.kind: r for r in session.exec(select(PortalRecord))}
    assert records["product"].state == RecordState.REJECTED
    assert f"expected {good[-1]}" in (records["product"].last_error or "")
    assert records["production_order"].state == RecordState.BLOCKED

    page = login(app.test_client(), "admin@example.vn").get(
        f"/marketplace/portal/producers/{records['product'].producer_id}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "wrong check digit" in html and "422" in html and bad in html


def test_a_recall_is_pushed_at_once(
    app: Flask,
    session: Session,
    farm_a: Farm,
    inspector: User,
    portal: SandboxAdmin,
    work: Callable[[], int],
) -> None:
    opt_in(session, farm_a)
    work()
    with app.app_context():
        recall_lot(session, actor_for(inspector), farm_a.lot_id, "Salmonella found",
                   recall_hooks(app))  # fmt: skip
    queued = session.exec(select(Job).where(Job.kind == JOB_PUSH_LOT)).all()
    assert [job.payload["lot_id"] for job in queued] == [farm_a.lot_id]
    assert queued[0].run_after <= datetime.now(UTC)  # due now, not at the next sweep
    work()
    (order,) = objects(portal, "production_orders")
    assert order["status"] == "recalled" and order["reason"] == "Salmonella found"


def test_a_recall_of_a_producer_who_did_not_opt_in_is_not_sent(
    app: Flask, session: Session, farm_a: Farm, inspector: User, portal: SandboxAdmin
) -> None:
    with app.app_context():
        recall_lot(session, actor_for(inspector), farm_a.lot_id, "Salmonella found",
                   recall_hooks(app))  # fmt: skip
    assert session.exec(select(Job).where(Job.kind == JOB_PUSH_LOT)).all() == []


@pytest.mark.parametrize("fault", ["5xx", "timeout_after_commit", "drop_after_commit"])
def test_a_failed_push_is_retried_and_never_duplicated(
    fault: str,
    session: Session,
    farm_a: Farm,
    portal: SandboxAdmin,
    work: Callable[[], int],
) -> None:
    ship_and_receive(session, farm_a)
    portal.fail_next(fault, method="POST", path="/api/v1/products")
    portal.fail_next(fault, method="POST", path="/api/v1/production-orders")
    portal.fail_next(fault, method="POST", path="/api/v1/stage-events")
    opt_in(session, farm_a)
    work()

    assert len(objects(portal, "products")) == 1
    assert len(objects(portal, "production_orders")) == 1
    assert len(objects(portal, "stage_events")) == 2
    assert portal.stats()["faults"] == {fault: 3}
    records = session.exec(select(PortalRecord)).all()
    assert {r.state for r in records} == {RecordState.SENT}
    pushes = session.exec(select(PortalPush).where(PortalPush.kind == "product")).all()
    first = pushes[0]
    assert first.outcome == "error"
    assert first.status_code == (500 if fault == "5xx" else None)


def test_the_admin_sees_per_producer_what_was_sent_when_and_what_the_portal_said(
    app: Flask,
    session: Session,
    farm_a: Farm,
    admin: User,
    portal: SandboxAdmin,
    work: Callable[[], int],
) -> None:
    farmer = login(app.test_client(), farm_a.email)
    assert farmer.post("/marketplace/portal/enrolment", data={"enabled": "1"}).status_code == 302
    switch = farmer.get("/marketplace/portal/").get_data(as_text=True)
    assert 'name="enabled" value="0"' in switch  # the switch now offers to stop sharing
    portal.fail_next("5xx", method="POST", path="/api/v1/products")
    work()

    staff = login(app.test_client(), "admin@example.vn")
    listing = staff.get("/marketplace/portal/").get_data(as_text=True)
    assert "HTX Thanh Long 1" in listing
    producer_id = farm_a.user.producer_id
    history = staff.get(f"/marketplace/portal/producers/{producer_id}/history.json").get_json()
    answers = [(p["method"], p["path"], p["status_code"]) for p in reversed(history["items"])]
    assert answers[:5] == [
        ("POST", "/api/v1/organizations/activate", 200),
        ("POST", "/api/v1/products", 500),
        ("GET", "/api/v1/products", 200),  # the 500 may have hidden a write: look first
        ("POST", "/api/v1/products", 201),
        ("POST", "/api/v1/growing-areas", 201),
    ]
    assert all(p["sent_at"] for p in history["items"])
    assert {r["state"] for r in history["records"]} == {"sent"}
    page = staff.get(f"/marketplace/portal/producers/{producer_id}").get_data(as_text=True)
    assert "injected server error" in page
    assert farmer.get(f"/marketplace/portal/producers/{producer_id}").status_code == 404


def test_the_portal_pages_show_times_in_vietnam_time(
    app: Flask,
    session: Session,
    farm_a: Farm,
    admin: User,
    portal: SandboxAdmin,
    work: Callable[[], int],
) -> None:
    opt_in(session, farm_a)
    work()
    moment = datetime(2026, 3, 1, 17, 30, 5, tzinfo=UTC)
    session.execute(update(PortalPush).values(sent_at=moment))
    session.execute(update(PortalRecord).values(last_synced_at=moment))
    session.commit()
    staff = login(app.test_client(), admin.email)
    listing = staff.get("/marketplace/portal/").get_data(as_text=True)
    assert "2026-03-02 00:30 UTC+07:00" in listing and "17:30" not in listing
    producer = staff.get(f"/marketplace/portal/producers/{farm_a.user.producer_id}")
    page = producer.get_data(as_text=True)
    assert "2026-03-02 00:30 UTC+07:00" in page  # what the portal holds: last sent
    assert "2026-03-02 00:30:05 UTC+07:00" in page  # the requests, to the second
    assert "17:30" not in page


def test_only_the_producers_farmer_or_an_admin_changes_the_opt_in(
    session: Session, farm_a: Farm, inspector: User
) -> None:
    from trace.errors import NotFound

    with pytest.raises(NotFound):
        set_enrolment(session, actor_for(inspector), True, farm_a.user.producer_id)
    other: Actor = farm_a.actor
    assert set_enrolment(session, other, False).enabled is False


def test_the_demo_starts_the_portal_sandbox_and_shares_a_demo_farm_with_it(
    app: Flask, session: Session, portal: SandboxAdmin, work: Callable[[], int]
) -> None:
    from marketplace.serving import seed_demo_enrolment, start_sandboxes
    from tests.conftest import FAST_HASH
    from trace.seed import seed_demo

    ports = {"POSTMART_SANDBOX_PORT": 0, "VOSO_SANDBOX_PORT": 0, "PORTAL_SANDBOX_PORT": 0}
    app.config.update(ports)
    running = start_sandboxes(app)
    try:
        assert sorted(sandbox.app.name for sandbox in running) == ["portal", "postmart", "voso"]
    finally:
        for sandbox in running:
            sandbox.stop()

    seed_demo(session, FAST_HASH)
    assert seed_demo_enrolment(session) is True
    assert seed_demo_enrolment(session) is False  # a second start changes nothing
    work()
    assert len(objects(portal, "organizations")) == 1
    assert objects(portal, "products") and objects(portal, "production_orders")
    records = session.exec(select(PortalRecord)).all()
    assert {r.state for r in records} == {RecordState.SENT}

"""The fault drill, small: two workers sync 40 products to both sandboxes under 10% faults.

Every kind of fault is injected (latency spikes, 5xx, dropped connections, timeouts and
dropped connections *after* the write committed) while the farmer keeps changing prices,
stock and marketplaces. At the end the marketplaces must show exactly what we hold: one
listing per product and marketplace, the latest price and stock, delisted where unticked.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from marketplace.models import ListingState, ListingSync
from marketplace.reconcile import find_drift
from marketplace.sandbox.faults import KINDS
from marketplace.services import ListingChoice, save_listings
from stamps.minting import activate_run, mint_stamps
from tests.marketplace.conftest import BOTH, READ_TIMEOUT, SandboxAdmin, marketplace_only
from tests.registry_fixtures import Farm
from trace import jobs
from trace.models import Job, Product
from trace.services import holdings, lots

PRODUCTS, STAMPS_EACH, WORKERS = 40, 12, 2
FAULT_RATE = 0.10  # of all requests, shared evenly by every kind of fault


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return app_config | {"MARKETPLACE_MAX_ATTEMPTS": 12}


@pytest.fixture
def faulty(postmart_admin: SandboxAdmin, voso_admin: SandboxAdmin) -> list[SandboxAdmin]:
    """Both sandboxes at 10% faults; each kind also forced once on the first creates."""
    for seed, admin in enumerate((postmart_admin, voso_admin)):
        admin.unlimited()
        admin.configure(
            seed=seed,
            spike_ms=int(READ_TIMEOUT * 200),
            rates={kind: FAULT_RATE / len(KINDS) for kind in KINDS},
        )
        admin.fail_next(*KINDS, method="POST", path="/api/")
    return [postmart_admin, voso_admin]


def products_with_stamps(session: Session, farm: Farm) -> list[int]:
    """``PRODUCTS`` products of one farm, each with a lot carrying active stamps."""
    ids = []
    for n in range(PRODUCTS):
        product = holdings.add_product(
            session, farm.actor, name_vi=f"Sản phẩm {n}", name_en=f"Product {n}",
            category="fruit", unit="kg", gtin=None,
        )  # fmt: skip
        new = lots.NewLot(product.id, f"D-{n}", date.today(), "100", "kg", farm.plot_id)  # type: ignore[arg-type]
        lot = lots.create_lot(session, farm.actor, new, date.today())
        run = mint_stamps(session, farm.actor, lot.id, STAMPS_EACH, "1")  # type: ignore[arg-type]
        activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]
        ids.append(product.id)  # type: ignore[arg-type]
    return ids


class Workers:
    """``WORKERS`` job workers in threads, each with its own database session."""

    def __init__(self, app: Flask) -> None:
        self.app, self.stop = app, threading.Event()
        self.ran: Counter[str] = Counter()
        self.crashes: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._loop, args=(f"drill-{n}",), daemon=True)
            for n in range(WORKERS)
        ]

    def _loop(self, name: str) -> None:
        engine = self.app.extensions["db_engine"]
        try:
            with self.app.app_context(), Session(engine, expire_on_commit=False) as session:
                while not self.stop.is_set():
                    if jobs.run_one(self.app, session, name):
                        self.ran[name] += 1
                    else:
                        self.stop.wait(0.02)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.crashes.append(error)

    def drain(self, session: Session, within: float = 240.0) -> None:
        """Wait until no marketplace job is left to run."""
        waiting = select(Job).where(
            col(Job.kind).startswith("marketplace."),
            col(Job.status).in_([jobs.QUEUED, jobs.RUNNING]),
        )
        deadline = time.monotonic() + within
        while session.exec(waiting).first() is not None:
            session.rollback()
            assert time.monotonic() < deadline, "the workers did not finish the queue"
            assert not self.crashes, self.crashes
            time.sleep(0.1)


@pytest.fixture
def workers(app: Flask) -> Iterator[Workers]:
    marketplace_only(app)
    running = Workers(app)
    for thread in running.threads:
        thread.start()
    yield running
    running.stop.set()
    for thread in running.threads:
        thread.join(timeout=30)


def choose(
    session: Session, farm: Farm, product_id: int, price: int, stock: int, on: list[str]
) -> None:
    choices = [ListingChoice(name, name in on, str(price), str(stock)) for name in BOTH]
    save_listings(session, farm.actor, product_id, choices, BOTH)


def test_two_workers_under_faults_leave_the_marketplaces_exactly_as_we_hold_them(
    app: Flask, session: Session, farm_a: Farm, faulty: list[SandboxAdmin], workers: Workers
) -> None:
    product_ids = products_with_stamps(session, farm_a)
    for n, product_id in enumerate(product_ids):
        choose(session, farm_a, product_id, 30_000 + n, 5 + n % 20, BOTH)
    time.sleep(0.5)  # the workers are busy with the first versions...
    for n, product_id in enumerate(product_ids):  # ...when the farmer changes them again
        on = ["voso"] if n % 8 == 0 else BOTH
        choose(session, farm_a, product_id, 45_000 + n, 3 + n % 7, on)
    workers.drain(session)

    assert all(workers.ran[f"drill-{n}"] > 0 for n in range(WORKERS)), workers.ran
    rows = session.exec(select(ListingSync)).all()
    for row in rows:
        session.refresh(row)
    assert len(rows) == PRODUCTS * len(BOTH)
    assert Counter(row.state for row in rows) == {
        ListingState.LISTED: PRODUCTS * 2 - PRODUCTS // 8,
        ListingState.DELISTED: PRODUCTS // 8,
    }
    skus = {p.id: p.gtin for p in session.exec(select(Product))}
    for name, admin in zip(BOTH, faulty, strict=True):
        shown = admin.listings()
        assert Counter(item["sku"] for item in shown).most_common(1)[0][1] == 1, "a duplicate"
        by_sku = {item["sku"]: item for item in shown}
        for row in (r for r in rows if r.marketplace == name):
            assert_matches(row, by_sku.get(skus[row.product_id]))
    injected: Counter[str] = Counter()
    for admin in faulty:
        injected.update(admin.stats()["faults"])
    assert set(injected) == set(KINDS), injected
    for admin in faulty:  # the drift check reads the marketplaces: faults over, as in reality
        admin.configure(rates={kind: 0.0 for kind in KINDS})
    adapters = app.extensions["marketplace"].adapters
    assert [drift for name in BOTH for drift in find_drift(session, name, adapters[name])] == []


def assert_matches(row: ListingSync, shown: dict[str, Any] | None) -> None:
    """The marketplace shows the latest price, the capped stock, and sale state we hold.

    A listing unticked before any worker sent it need not exist on the marketplace at all.
    """
    if shown is None:
        assert not row.enabled and row.external_id is None, f"lost: {row}"
        return
    doc = shown["doc"]
    price = doc.get("gia_ban", doc.get("price"))
    stock = doc.get("so_luong", doc.get("stock"))
    on_sale = shown["status"] in ("dang_ban", "NORMAL")
    assert on_sale == row.enabled, (row, shown["status"])
    assert row.external_id is not None and row.external_id.endswith(str(shown["id"]))
    if row.enabled:
        assert (price, stock) == (row.price_vnd, min(row.stock, STAMPS_EACH)), (row, doc)

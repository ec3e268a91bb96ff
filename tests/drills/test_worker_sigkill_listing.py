"""Fault drill: a real `flask worker` process is SIGKILLed after a marketplace accepted a new
listing and before the listing is recorded.

The worker kills itself with SIGKILL at the crash point ``listing-created``
(``AGRITRACE_CRASH_AT``, see ``trace.jobs.crash_point``). A second worker starts once the
dead one's leases have run out; it finds the listing by SKU instead of creating another.
Afterwards each marketplace shows exactly one listing, and nothing drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from marketplace.reconcile import find_drift
from marketplace.sandbox.admin import AdminClient
from marketplace.sandbox.postmart import PostmartSandbox
from marketplace.sandbox.servers import RunningSandbox, start
from marketplace.sandbox.voso import VosoSandbox
from marketplace.services import ListingChoice, save_listings
from stamps.minting import activate_run, mint_stamps
from tests.drills.conftest import (
    WorkerProcess,
    assert_killed_at_crash_point,
    expire_leases,
    wait_until,
)
from tests.registry_fixtures import Farm
from trace.models import Product

MARKETPLACES = ["postmart", "voso"]


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[dict[str, RunningSandbox]]:
    """Both sandbox marketplaces as real HTTP servers on free ports."""
    running = {
        "postmart": start(PostmartSandbox(tmp_path / "postmart.db")),
        "voso": start(VosoSandbox(tmp_path / "voso.db")),
    }
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], sandboxes: dict[str, RunningSandbox]) -> dict[str, Any]:
    """The test app's adapters (used for the final drift check) point at the sandboxes."""
    urls = {"POSTMART_URL": sandboxes["postmart"].url, "VOSO_URL": sandboxes["voso"].url}
    return app_config | urls


@pytest.fixture
def marketplace_env(
    worker_env: dict[str, str], sandboxes: dict[str, RunningSandbox]
) -> dict[str, str]:
    return worker_env | {
        "POSTMART_URL": sandboxes["postmart"].url,
        "VOSO_URL": sandboxes["voso"].url,
    }


def shown(sandboxes: dict[str, RunningSandbox], name: str, sku: str) -> list[dict[str, Any]]:
    running = sandboxes[name]
    listings = AdminClient(running.url, running.app.admin_token).listings()
    return [item for item in listings if item["sku"] == sku]


def listings(session: Session) -> list[ListingSync]:
    session.expire_all()
    return list(session.exec(select(ListingSync).order_by(ListingSync.marketplace)))


def test_worker_killed_after_the_marketplace_accepted_a_listing_leaves_one_listing(
    app: Flask,
    session: Session,
    farm_a: Farm,
    sandboxes: dict[str, RunningSandbox],
    marketplace_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    run = mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")
    activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]
    choices = [ListingChoice(name, True, "35000", "20") for name in MARKETPLACES]
    save_listings(session, farm_a.actor, farm_a.product_id, choices, MARKETPLACES)
    product = session.get(Product, farm_a.product_id)
    assert product is not None
    sku = product.gtin

    assert_killed_at_crash_point(start_worker(marketplace_env, crash_at="listing-created"))
    on_sale = {name: shown(sandboxes, name, sku) for name in MARKETPLACES}
    assert sorted(len(items) for items in on_sale.values()) == [0, 1]  # one write landed...
    assert all(row.external_id is None for row in listings(session))  # ...unrecorded

    expire_leases(session)
    again = start_worker(marketplace_env)
    wait_until(
        lambda: all(row.state == ListingState.LISTED for row in listings(session)),
        40,
        "both listings to be listed",
    )
    again.stop()

    for row in listings(session):
        (item,) = shown(sandboxes, row.marketplace, sku)  # exactly one listing each
        assert row.external_id is not None and row.external_id.endswith(str(item["id"]))
    adapters = app.extensions["marketplace"].adapters
    assert [d for name in MARKETPLACES for d in find_drift(session, name, adapters[name])] == []

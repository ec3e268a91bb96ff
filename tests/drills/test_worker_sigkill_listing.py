"""Fault drill: a real `flask worker` process is SIGKILLed after a marketplace accepted a new
listing and before the listing is recorded.

The worker kills itself with SIGKILL at the crash point ``listing-created``
(``AGRITRACE_CRASH_AT``, see ``trace.jobs.crash_point``). A second worker starts once the
dead one's leases have run out; it finds the listing by SKU instead of creating another.
Afterwards each marketplace shows exactly one listing, and nothing drifts.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from marketplace.reconcile import find_drift
from tests.drills.conftest import (
    PATIENCE,
    WorkerProcess,
    assert_killed_at_crash_point,
    expire_leases,
    wait_until,
)
from tests.marketplace.conftest import (  # noqa: F401 - the sandboxes' fixtures
    BOTH,
    SandboxAdmin,
    app_config,
    gtin,
    offer,
    postmart_admin,
    remote,
    sandbox_servers,
    stamp,
    voso_admin,
)
from tests.registry_fixtures import Farm


@pytest.fixture
def sandboxes(request: pytest.FixtureRequest) -> dict[str, SandboxAdmin]:
    """Both sandbox marketplaces (real HTTP servers on free ports), emptied, by name."""
    return {name: request.getfixturevalue(f"{name}_admin") for name in BOTH}


@pytest.fixture
def marketplace_env(
    worker_env: dict[str, str], sandboxes: dict[str, SandboxAdmin]
) -> dict[str, str]:
    return worker_env | {
        "POSTMART_URL": sandboxes["postmart"].url,
        "VOSO_URL": sandboxes["voso"].url,
    }


def listings(session: Session) -> list[ListingSync]:
    session.expire_all()
    return list(session.exec(select(ListingSync).order_by(ListingSync.marketplace)))


def test_worker_killed_after_the_marketplace_accepted_a_listing_leaves_one_listing(
    app: Flask,
    session: Session,
    farm_a: Farm,
    sandboxes: dict[str, SandboxAdmin],
    marketplace_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    stamp(session, farm_a, 30)
    offer(session, farm_a, price="35000", stock="20")
    sku = gtin(session, farm_a)

    assert_killed_at_crash_point(start_worker(marketplace_env, crash_at="listing-created"))
    on_sale = {name: remote(admin, sku) for name, admin in sandboxes.items()}
    assert sorted(len(items) for items in on_sale.values()) == [0, 1]  # one write landed...
    assert all(row.external_id is None for row in listings(session))  # ...unrecorded

    expire_leases(session)
    again = start_worker(marketplace_env)
    wait_until(
        lambda: all(row.state == ListingState.LISTED for row in listings(session)),
        PATIENCE,
        "both listings to be listed",
    )
    again.stop()

    for row in listings(session):
        (item,) = remote(sandboxes[row.marketplace], sku)  # exactly one listing each
        assert row.external_id is not None and row.external_id.endswith(str(item["id"]))
    adapters = app.extensions["marketplace"].adapters
    assert [d for name in BOTH for d in find_drift(session, name, adapters[name])] == []

"""Marketplace fixtures: both sandboxes on free ports (real HTTP), their admin, a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col

from marketplace.adapters import PostmartAdapter, VosoAdapter
from marketplace.http import HttpClient
from marketplace.models import ListingSync
from marketplace.sandbox.admin import AdminClient
from marketplace.sandbox.postmart import PostmartSandbox
from marketplace.sandbox.servers import RunningSandbox, start
from marketplace.sandbox.voso import VosoSandbox
from marketplace.services import ListingChoice, save_listings
from stamps.minting import activate_run, mint_stamps
from tests.registry_fixtures import Farm
from trace import jobs
from trace.models import Job, Product
from trace.models.base import utcnow

READ_TIMEOUT = 1.0  # the adapters give up after this; "timeout after commit" hangs longer
# (0.5 s was too short for a sandbox answer on a loaded two-core CI machine)


class SandboxAdmin(AdminClient):
    """The admin client of a sandbox running in this test process."""

    def __init__(self, running: RunningSandbox) -> None:
        super().__init__(running.url, running.app.admin_token, hang_seconds=READ_TIMEOUT * 2)
        self.running = running


@pytest.fixture(scope="session")
def sandbox_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RunningSandbox]]:
    """Both sandboxes, serving for the whole session of this test process."""
    folder: Path = tmp_path_factory.mktemp("sandboxes")
    running = {
        "postmart": start(PostmartSandbox(folder / "postmart.db")),
        "voso": start(VosoSandbox(folder / "voso.db")),
    }
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture
def postmart_admin(sandbox_servers: dict[str, RunningSandbox]) -> SandboxAdmin:
    admin = SandboxAdmin(sandbox_servers["postmart"])
    admin.reset()
    return admin


@pytest.fixture
def voso_admin(sandbox_servers: dict[str, RunningSandbox]) -> SandboxAdmin:
    admin = SandboxAdmin(sandbox_servers["voso"])
    admin.reset()
    return admin


@pytest.fixture
def app_config(
    app_config: dict[str, Any], postmart_admin: SandboxAdmin, voso_admin: SandboxAdmin
) -> dict[str, Any]:
    """The app's adapters point at the (freshly reset) sandboxes."""
    return app_config | {
        "POSTMART_URL": postmart_admin.url,
        "VOSO_URL": voso_admin.url,
        "MARKETPLACE_TIMEOUT": READ_TIMEOUT,
        "MARKETPLACE_BACKOFF_SECONDS": 0.01,
    }


@pytest.fixture
def postmart(postmart_admin: SandboxAdmin) -> PostmartAdapter:
    """A postmart adapter of its own (no app needed)."""
    return PostmartAdapter(HttpClient(postmart_admin.url, (1.0, READ_TIMEOUT)), "pm-sandbox-key")


@pytest.fixture
def voso(voso_admin: SandboxAdmin) -> VosoAdapter:
    """A voso adapter of its own (no app needed)."""
    http = HttpClient(voso_admin.url, (1.0, READ_TIMEOUT))
    return VosoAdapter(http, "voso-sandbox-partner", "voso-sandbox-secret")


def marketplace_only(app: Flask) -> None:
    """Leave only the marketplace's job handlers on ``app`` (no chain work in these tests)."""
    registry = jobs.handlers(app)
    for kind in [kind for kind in registry if not kind.startswith("marketplace.")]:
        del registry[kind]


def fast_forward(session: Session) -> None:
    """Make every queued job due now (the tests do not wait out backoffs)."""
    session.execute(update(Job).where(col(Job.status) == jobs.QUEUED).values(run_after=utcnow()))
    session.commit()


@pytest.fixture
def work(app: Flask, session: Session) -> Callable[..., int]:
    """Run marketplace jobs as a worker would, skipping waits; return how many ran."""
    marketplace_only(app)

    def run(limit: int = 200, wait: bool = False) -> int:
        ran = 0
        with app.app_context():
            while ran < limit:
                if not wait:
                    fast_forward(session)
                if not jobs.run_one(app, session, "test-worker"):
                    return ran
                ran += 1
        raise AssertionError(f"jobs still running after {limit}")

    return run


# --- helpers shared by the marketplace tests ------------------------------------------

BOTH = ["postmart", "voso"]


def offer(
    session: Session, farm: Farm, price: str = "35000", stock: str = "40", on: list[str] = BOTH
) -> list[ListingSync]:
    choices = [ListingChoice(name, name in on, price, stock) for name in BOTH]
    return save_listings(session, farm.actor, farm.product_id, choices, BOTH)


def stamp(session: Session, farm: Farm, count: int, lot_id: int | None = None) -> None:
    run = mint_stamps(session, farm.actor, lot_id or farm.lot_id, count, "1")
    activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]


def remote(admin: SandboxAdmin, sku: str) -> list[dict]:  # type: ignore[type-arg]
    return [listing for listing in admin.listings() if listing["sku"] == sku]


def gtin(session: Session, farm: Farm) -> str:
    product = session.get(Product, farm.product_id)
    assert product is not None
    return product.gtin

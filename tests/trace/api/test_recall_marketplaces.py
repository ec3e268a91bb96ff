"""A recall over the API takes the product off sale on every marketplace (real sandboxes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from tests.marketplace.conftest import (  # noqa: F401 - the sandboxes' fixtures, reused
    SandboxAdmin,
    app_config,
    gtin,
    offer,
    postmart_admin,
    remote,
    sandbox_servers,
    voso_admin,
    work,
)
from tests.registry_fixtures import Farm


def test_a_recall_over_the_api_delists_the_product_on_every_marketplace(
    inspector_api: Any,
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],  # noqa: F811
    postmart_admin: SandboxAdmin,  # noqa: F811
    voso_admin: SandboxAdmin,  # noqa: F811
) -> None:
    offer(session, farm_a)
    work()
    sku = gtin(session, farm_a)
    assert remote(postmart_admin, sku)[0]["status"] == "dang_ban"
    body = inspector_api.post(
        f"/api/v1/batches/{farm_a.lot_id}/recall", json={"reason": "Nhiễm Salmonella"}
    ).json
    assert body["delisting_queued"] is True
    assert work() == 1
    assert [listing["status"] for listing in remote(postmart_admin, sku)] == ["da_go"]
    assert [listing["status"] for listing in remote(voso_admin, sku)] == ["UNLIST"]
    rows = session.exec(select(ListingSync)).all()
    assert {(r.marketplace, r.state) for r in rows} == {
        ("postmart", ListingState.DELISTED),
        ("voso", ListingState.DELISTED),
    }

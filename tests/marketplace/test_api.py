"""The listings in the API: each product's marketplaces, state, remote id, sync time, error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.marketplace.conftest import SandboxAdmin, offer
from tests.registry_fixtures import Farm
from trace.models import User
from trace.services import tokens
from trace.services.access import Actor

FIELDS = {"marketplace", "state", "external_id", "last_synced_at", "last_error"}


@pytest.fixture
def bearer(session: Session, admin: User, client: FlaskClient) -> Callable[[User], Any]:
    """GET with a read token issued (by the admin) to ``user``."""

    def for_user(user: User) -> Callable[[str], Any]:
        issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
        secret = tokens.issue_token(session, issuer, user.email, ["read"], None, "test").secret
        return lambda path: client.get(path, headers={"Authorization": f"Bearer {secret}"})

    return for_user


def test_a_farmers_integration_finds_its_product_then_each_listings_state(
    session: Session,
    farm_a: Farm,
    bearer: Callable[[User], Any],
    work: Callable[..., int],
    voso_admin: SandboxAdmin,
) -> None:
    get = bearer(farm_a.user)
    products = get("/api/v1/products").get_json()["items"]
    assert farm_a.product_id in [item["id"] for item in products]
    path = f"/api/v1/products/{farm_a.product_id}/listings"
    assert get(path).get_json()["items"] == []
    offer(session, farm_a, on=["voso"])
    [pending] = get(path).get_json()["items"]
    assert FIELDS <= set(pending)
    assert (pending["marketplace"], pending["state"], pending["external_id"]) == (
        "voso",
        "syncing",
        None,
    )
    work()
    body = get(path).get_json()
    [listed] = body["items"]
    [remote] = voso_admin.listings()
    assert (listed["state"], listed["external_id"], listed["last_error"]) == (
        "listed",
        str(remote["id"]),
        None,
    )
    assert datetime.fromisoformat(listed["last_synced_at"]).year >= 2024
    assert body["total"] == 1


def test_a_failed_listing_shows_its_error_in_the_api(
    app: Flask,
    session: Session,
    farm_a: Farm,
    bearer: Callable[[User], Any],
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
) -> None:
    work()
    attempts = app.extensions["marketplace"].max_attempts
    postmart_admin.fail_next(*["5xx"] * attempts, path="/api/")
    offer(session, farm_a, on=["postmart"])
    work()
    [failed] = bearer(farm_a.user)(f"/api/v1/products/{farm_a.product_id}/listings").get_json()[
        "items"
    ]
    assert failed["state"] == "failed" and "500 internal_error" in failed["last_error"]
    assert failed["external_id"] is None


def test_another_producers_listings_are_not_found(
    session: Session, farm_a: Farm, farm_b: Farm, bearer: Callable[[User], Any]
) -> None:
    offer(session, farm_a)
    response = bearer(farm_b.user)(f"/api/v1/products/{farm_a.product_id}/listings")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_listings_need_a_token(client: FlaskClient, farm_a: Farm) -> None:
    response = client.get(f"/api/v1/products/{farm_a.product_id}/listings")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_the_listings_resource_is_documented_in_the_openapi(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/products/{product_id}/listings"]["get"]
    schema_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    item_ref = page["properties"]["items"]["items"]["$ref"]
    item = spec["components"]["schemas"][item_ref.rsplit("/", 1)[1]]
    assert FIELDS <= set(item["properties"])

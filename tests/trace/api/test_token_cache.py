"""Each worker keeps an authenticated API caller for a few seconds (API_TOKEN_CACHE_SECONDS):
a revoked token stops working within that time, and at once where the cache is off."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from trace.api import auth
from trace.models import User
from trace.models.tokens import ApiToken
from trace.services import tokens
from trace.services.access import Actor


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "API_TOKEN_CACHE_SECONDS": 5}


def test_a_revoked_token_stops_working_once_the_cached_caller_expires(
    session: Session,
    api_as: Any,
    token_for: Any,
    inspector: User,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    api = api_as(token_for(inspector, "read"))
    assert api.get("/api/v1/batches").status_code == 200
    token = session.exec(select(ApiToken)).one()
    tokens.revoke_token(session, Actor(admin.id, admin.role), token.id)  # type: ignore[arg-type]
    clock[0] += 4  # within the cache's five seconds: this worker still knows the caller
    assert api.get("/api/v1/batches").status_code == 200
    clock[0] += 2
    assert api.get("/api/v1/batches").status_code == 401
    assert api_as(None).get("/api/v1/batches").status_code == 401


def test_a_cached_caller_keeps_its_scopes(api_as: Any, token_for: Any, inspector: User) -> None:
    api = api_as(token_for(inspector, "read"))
    assert api.get("/api/v1/batches").status_code == 200
    refused = api.post("/api/v1/epcis/capture", json={})
    assert refused.status_code == 403

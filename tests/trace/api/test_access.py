"""Who may call what: the access matrix of the API, and how tokens are checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from trace.models import User
from trace.models.base import utcnow
from trace.models.tokens import ApiToken
from trace.services import tokens

ROLES = (
    "anonymous", "farmer_a", "farmer_b", "inspector_read", "inspector_recall",
    "inspector_capture", "admin",
)  # fmt: skip
# Reads of farm A's objects: farmer B gets 404 (never learns they exist), tokens without
# the read scope 403, no token 401.
READ = dict(zip(ROLES, (401, 200, 404, 200, 403, 403, 200), strict=True))


def expect(
    callers: dict[str, Any], method: str, path: str, table: dict[str, int], **kw: Any
) -> None:
    got = {role: getattr(callers[role], method)(path, **kw).status_code for role in table}
    assert got == table


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/batches/{lot}",
        "/api/v1/batches/{lot}/integrity",
        "/api/v1/batches/{lot}/inputs",
        "/api/v1/batches/{lot}/stamps",
        "/api/v1/stamps/{serial}",
        "/api/v1/stamps/{serial}/scans",
        "/api/v1/producers/{producer}",
    ],
)
def test_reading_farm_a_objects_follows_the_matrix(
    callers: dict[str, Any], farm_a: Farm, stamped: list[str], path: str
) -> None:
    url = path.format(lot=farm_a.lot_id, serial=stamped[0], producer=farm_a.user.producer_id)
    expect(callers, "get", url, READ)


def test_farmer_lists_only_their_own_lots(
    callers: dict[str, Any], farm_a: Farm, farm_b: Farm
) -> None:
    def lot_ids(role: str) -> set[int]:
        return {item["id"] for item in callers[role].get("/api/v1/batches").json["items"]}

    assert lot_ids("farmer_a") == {farm_a.lot_id}
    assert lot_ids("farmer_b") == {farm_b.lot_id}
    assert lot_ids("inspector_read") == {farm_a.lot_id, farm_b.lot_id}


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("farmer_a", 403), ("farmer_b", 403), ("inspector_read", 403),
     ("inspector_recall", 200), ("inspector_capture", 403), ("admin", 200)],
)  # fmt: skip
def test_recall_needs_the_recall_scope(
    callers: dict[str, Any], farm_a: Farm, role: str, status: int
) -> None:
    response = callers[role].post(
        f"/api/v1/batches/{farm_a.lot_id}/recall", json={"reason": "Salmonella"}
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("farmer_a", 201), ("farmer_b", 404), ("inspector_read", 403),
     ("inspector_capture", 403), ("admin", 403)],
)  # fmt: skip
def test_minting_over_the_api_is_for_the_lots_own_farmer(
    callers: dict[str, Any], farm_a: Farm, role: str, status: int
) -> None:
    response = callers[role].post(f"/api/v1/batches/{farm_a.lot_id}/stamps", json={"count": 3})
    assert response.status_code == status


def test_capture_needs_the_capture_scope(callers: dict[str, Any]) -> None:
    event = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2026-01-02T03:04:05+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "epcList": ["https://id.gs1.org/01/08936000010010/21/ABC"],
    }
    table = {"anonymous": 401, "farmer_a": 403, "inspector_read": 403, "inspector_capture": 201}
    expect(callers, "post", "/api/v1/epcis/capture", table, json=event)


def test_missing_token_is_a_401_problem_with_a_bearer_challenge(callers: dict[str, Any]) -> None:
    response = callers["anonymous"].get("/api/v1/batches")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="AgriTrace API"'


def test_unknown_token_is_rejected_as_invalid(api_as: Any) -> None:
    response = api_as("agt_not-a-real-token").get("/api/v1/batches")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_tokens_are_stored_only_as_a_hash(
    session: Session, token_for: Any, inspector: User
) -> None:
    secret = token_for(inspector, "read")
    stored = session.exec(select(ApiToken)).one()
    assert secret not in (stored.token_hash, stored.prefix) and secret.startswith(stored.prefix)
    assert stored.token_hash == tokens.hash_token(secret)


def test_revoked_and_expired_tokens_stop_working(
    session: Session, api_as: Any, token_for: Any, inspector: User, admin: User
) -> None:
    revoked, expired = token_for(inspector, "read"), token_for(inspector, "read", days=1)
    first, second = session.exec(select(ApiToken).order_by(ApiToken.id)).all()
    tokens.revoke_token(session, tokens_actor(admin), first.id)  # type: ignore[arg-type]
    second.expires_at = utcnow() - timedelta(seconds=1)
    session.add(second)
    session.commit()
    assert api_as(revoked).get("/api/v1/batches").status_code == 401
    assert api_as(expired).get("/api/v1/batches").json["detail"] == "The token has expired."


def test_a_token_records_when_it_was_last_used(
    session: Session, api_as: Any, token_for: Any, inspector: User
) -> None:
    secret = token_for(inspector, "read")
    assert api_as(secret).get("/api/v1/batches").status_code == 200
    session.expire_all()
    assert session.exec(select(ApiToken)).one().last_used_at is not None


def test_a_farmer_cannot_get_inspector_scopes(session: Session, farm_a: Farm) -> None:
    from trace.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        tokens.issue_token(session, farm_a.actor, farm_a.email, ["read", "recall"])
    assert "scopes" in raised.value.errors


def tokens_actor(user: User) -> Any:
    from trace.services.accounts import actor_for

    return actor_for(user)

"""schemathesis over the whole OpenAPI once per role: no request gets a server error.

Roles: anonymous (no token), a farmer (read, mint), an inspector with the read scope only,
an inspector with read and recall, and an admin (every scope an admin may hold). Valid
and invalid requests are generated for every operation; whatever a role may or may not
do, the answer is never a 5xx. Response conformance for a fully scoped inspector is
checked in ``tests/trace/api/test_schemathesis.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from tests.fuzzing import first_failure, operations
from tests.registry_fixtures import Farm
from trace.models import User
from trace.services import tokens
from trace.services.access import Actor

#: Examples per operation and mode: five roles share the time one role gets elsewhere.
#: ``SCHEMATHESIS_EXAMPLES=100`` digs deeper by hand.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))

ROLES = {  # role -> (which account holds the token, its scopes); None: no token at all
    "anonymous": None,
    "farmer": ("farmer", ("read", "mint")),
    "inspector-read": ("inspector", ("read",)),
    "inspector-recall": ("inspector", ("read", "recall")),
    "admin": ("admin", ("read", "recall", "capture")),
}


@pytest.fixture
def stamped(session: Session, farm_a: Farm, farm_b: Farm) -> None:
    """Real data to hit: both farms' lots, a few stamps on farm A's."""
    from stamps.minting import mint_stamps

    mint_stamps(session, farm_a.actor, farm_a.lot_id, 5, "1")


@pytest.fixture
def headers_for(
    session: Session, admin: User, inspector: User, farm_a: Farm
) -> Callable[[str], dict[str, str]]:
    """The Authorization header of a role's token (issued by the admin), or none."""
    accounts = {"farmer": farm_a.user, "inspector": inspector, "admin": admin}

    def headers(role: str) -> dict[str, str]:
        if ROLES[role] is None:
            return {}
        account, scopes = ROLES[role]  # type: ignore[misc]
        issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
        user = accounts[account]
        secret = tokens.issue_token(session, issuer, user.email, scopes, None, "fuzz").secret
        return {"Authorization": f"Bearer {secret}"}

    return headers


def server_errors(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """Send one operation's generated requests; return the first 5xx found, if any."""

    def send(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    return first_failure(operation, mode, EXAMPLES, send)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_no_generated_request_gets_a_server_error(
    app: Flask, stamped: None, headers_for: Callable[[str], dict[str, str]], role: str
) -> None:
    headers = headers_for(role)
    answer = app.test_client().get("/api/v1/products", headers=headers)
    assert answer.status_code == (401 if role == "anonymous" else 200)  # the token works
    found: list[str] = []
    ops = operations(app)
    assert len(ops) >= 20
    for operation in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found += server_errors(operation, mode, headers)
    assert not found, "\n\n".join(found)

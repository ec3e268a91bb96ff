"""API fixtures: tokens for each kind of caller, a client that sends them, anchoring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from chain.testing import FakeChainClient
from tests.registry_fixtures import Farm
from trace import jobs
from trace.anchoring.jobs import JOB_ROUND
from trace.models import User
from trace.services import tokens
from trace.services.access import Actor


class Api:
    """A test client that sends one bearer token (or none)."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("get", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("post", path, **kwargs)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = getattr(self.client, method)(path, headers=headers, **kwargs)
        response.close()
        return response


@pytest.fixture
def token_for(session: Session, admin: User) -> Callable[..., str]:
    """Issue a token for a user with the given scopes (as the admin would)."""

    def issue(user: User, *scopes: str, days: int | None = None) -> str:
        issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
        return tokens.issue_token(session, issuer, user.email, scopes, days, "test").secret

    return issue


@pytest.fixture
def api_as(client: FlaskClient) -> Callable[[str | None], Api]:
    return lambda token: Api(client, token)


@pytest.fixture
def inspector_api(api_as, token_for, inspector: User) -> Api:  # type: ignore[no-untyped-def]
    return api_as(token_for(inspector, "read", "recall", "capture"))


@pytest.fixture
def farmer_a_api(api_as, token_for, farm_a: Farm) -> Api:  # type: ignore[no-untyped-def]
    return api_as(token_for(farm_a.user, "read", "mint"))


@pytest.fixture
def farmer_b_api(api_as, token_for, farm_b: Farm) -> Api:  # type: ignore[no-untyped-def]
    return api_as(token_for(farm_b.user, "read", "mint"))


@pytest.fixture
def drain(app: Flask, session: Session) -> Callable[[], int]:
    """Run every due job, as a worker would; return how many ran."""

    def run() -> int:
        ran = 0
        with app.app_context():
            while jobs.run_one(app, session, "test-worker"):
                ran += 1
        return ran

    return run


@pytest.fixture
def anchor(app: Flask, session: Session, drain: Callable[[], int]) -> Callable[[], None]:
    """Bring lot documents up to date and anchor them on a fake chain."""
    app.extensions["chain"] = FakeChainClient()

    def run() -> None:
        drain()
        jobs.enqueue(session, JOB_ROUND, {}, dedupe_key=JOB_ROUND)
        session.commit()
        drain()

    return run


@pytest.fixture
def callers(
    api_as, token_for, farm_a: Farm, farm_b: Farm, inspector: User, admin: User
) -> dict[str, Api]:  # type: ignore[no-untyped-def]
    """One client per kind of caller in the access matrix."""
    return {
        "anonymous": api_as(None),
        "farmer_a": api_as(token_for(farm_a.user, "read", "mint")),
        "farmer_b": api_as(token_for(farm_b.user, "read", "mint")),
        "inspector_read": api_as(token_for(inspector, "read")),
        "inspector_recall": api_as(token_for(inspector, "recall")),
        "inspector_capture": api_as(token_for(inspector, "capture")),
        "admin": api_as(token_for(admin, "read", "recall", "capture")),
    }


@pytest.fixture
def stamped(session: Session, farm_a: Farm) -> list[str]:
    """Five stamps minted on farm A's lot, in minting order."""
    from sqlmodel import col, select

    from stamps import minting
    from stamps.models import Stamp

    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 5, "1")
    statement = select(Stamp.serial).where(Stamp.lot_id == farm_a.lot_id).order_by(col(Stamp.id))
    return list(session.exec(statement))

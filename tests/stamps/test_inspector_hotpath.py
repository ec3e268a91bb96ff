"""The inspector's verdict and proof on the WSGI hot path (``stamps.hotpath.inspector``)
answer what the Flask views answer, byte for byte and header for header, in every state a
stamp can be in; a token the views would refuse is never served there.

Each full answer is taken from the same app and state with the dispatcher switched off,
right before the hot answer, so both read one state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from stamps.hotpath.inspector import HotInspector
from tests.stamps.test_api_lean import every_state
from tests.stamps.test_verdict_surfaces import (  # noqa: F401 - fixtures used by name
    Province,
    inspector_token,
    province,
)
from trace.models import User
from trace.models.base import utcnow
from trace.models.tokens import ApiToken
from trace.services import tokens
from trace.services.access import Actor

Answer = tuple[int, bytes, dict[str, str]]


class Asker:
    """Asks a URL with the dispatcher off (Flask's views) and on; counts its own answers."""

    def __init__(self, app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = client
        self.monkeypatch = monkeypatch
        self.hot = _dispatcher(app)
        app.config["API_TOKEN_CACHE_SECONDS"] = 60  # as deployed (tests default to 0)

    def get(self, url: str, token: str) -> Answer:
        answer = self.client.get(url, headers={"Authorization": f"Bearer {token}"})
        return answer.status_code, answer.get_data(), dict(answer.headers)

    def both(self, url: str, token: str) -> tuple[Answer, Answer]:
        with self.monkeypatch.context() as off:
            off.setattr(HotInspector, "serve", lambda *_args: None)
            full = self.get(url, token)
        return full, self.get(url, token)


def _dispatcher(app: Flask) -> HotInspector:
    layer: Any = app.wsgi_app
    while not isinstance(layer, HotInspector):
        layer = layer.app
    return layer


@pytest.fixture
def asker(app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Asker]:
    yield Asker(app, client, monkeypatch)


def _issue(session: Session, admin: User, email: str, scopes: tuple[str, ...]) -> str:
    issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    return tokens.issue_token(session, issuer, email, scopes, None, "test").secret


def test_every_state_answers_the_same_bytes_and_headers_as_the_views(
    app: Flask,
    client: Any,
    session: Session,
    admin: User,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    asker: Asker,
) -> None:
    serials, asked, farmer_b = every_state(client, session, admin, province, inspector_token)

    statuses = set()
    for token in (inspector_token, farmer_b):
        for serial in asked:
            for url in (f"/api/v1/stamps/{serial}", f"/api/v1/stamps/{serial}/proof"):
                full, hot = asker.both(url, token)
                assert hot == full, url
                statuses.add(full[0])
    assert statuses == {200, 404, 409}
    # Recalled, tampered, void, suspended and genuine stamps were answered here, both kinds.
    assert asker.hot.answered > len(serials)


def test_a_token_the_views_refuse_is_refused_however_often_it_asks(
    session: Session,
    admin: User,
    inspector: User,
    province: Province,  # noqa: F811
    asker: Asker,
) -> None:
    url = f"/api/v1/stamps/{province.runs['TL-1'][0][0]}"
    no_read = _issue(session, admin, inspector.email, ("capture",))
    assert [asker.get(url, no_read)[0] for _ in range(3)] == [403, 403, 403]
    assert asker.get(url, "agt_not-a-token")[0] == 401
    assert asker.hot.answered == 0


def test_a_cached_token_that_expires_is_refused_at_once(
    session: Session,
    admin: User,
    inspector: User,
    province: Province,  # noqa: F811
    asker: Asker,
) -> None:
    url = f"/api/v1/stamps/{province.runs['TL-1'][0][0]}"
    secret = _issue(session, admin, inspector.email, ("read",))
    assert [asker.get(url, secret)[0] for _ in range(2)] == [200, 200]
    assert asker.hot.answered == 1  # the first ask went through the views, and was kept
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(secret))
    ).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.add(token)
    session.commit()
    (cached,) = _dispatcher_callers(asker)
    cached.token.expires_at = token.expires_at  # what the worker kept says so too
    assert asker.get(url, secret)[0] == 401
    assert asker.hot.answered == 1


def _dispatcher_callers(asker: Asker) -> list[Any]:
    return [caller for _expiry, caller in asker.hot.callers.values()]


def test_a_query_string_or_a_cookie_is_left_to_the_views(
    client: Any,
    province: Province,  # noqa: F811
    inspector_token: str,  # noqa: F811
    asker: Asker,
) -> None:
    url = f"/api/v1/stamps/{province.runs['TL-1'][0][0]}"
    assert asker.get(url, inspector_token)[0] == 200  # the views keep the caller
    assert asker.get(url + "?lang=en", inspector_token)[0] == 200
    client.set_cookie("lang", "en")
    assert asker.get(url, inspector_token)[0] == 200
    assert asker.hot.answered == 0
    client.delete_cookie("lang")
    assert asker.get(url + "/proof", inspector_token)[0] == 200
    assert asker.hot.answered == 1

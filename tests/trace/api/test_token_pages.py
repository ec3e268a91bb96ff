"""Token pages: admins issue inspector tokens, farmers integration tokens; use and revocation."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from trace.models import User
from trace.models.tokens import ApiToken

SECRET = re.compile(r'<code class="mono" id="new-token">(agt_[A-Za-z0-9_-]+)</code>')


def issue(page_client: Any, **form: Any) -> tuple[Any, str | None]:
    response = page_client.post("/tokens", data=form)
    found = SECRET.search(response.get_data(as_text=True))
    return response, found[1] if found else None


def test_an_admin_issues_an_inspector_token_with_scopes_expiry_and_label(
    login_as: Any, admin: User, inspector: User, api_as: Any, session: Session, farm_a: Farm
) -> None:
    page = login_as(admin.email)
    response, secret = issue(
        page,
        owner=inspector.email,
        scopes=["read", "recall"],
        expires_days="30",
        label="Chi cục QLCL Long An",
    )
    assert response.status_code == 200 and secret is not None
    assert response.headers["Cache-Control"] == "no-store"
    token = session.exec(select(ApiToken)).one()
    assert (token.user_id, token.scopes, token.label) == (
        inspector.id,
        "read,recall",
        "Chi cục QLCL Long An",
    )
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    assert secret not in page.get("/tokens").get_data(as_text=True)  # shown only once
    api = api_as(secret)
    assert api.get(f"/api/v1/batches/{farm_a.lot_id}").status_code == 200
    assert api.post("/api/v1/epcis/capture", json={"type": "ObjectEvent"}).status_code == 403


def test_the_list_shows_when_a_token_was_last_used_and_revoking_stops_it(
    login_as: Any, admin: User, inspector: User, api_as: Any, session: Session
) -> None:
    page = login_as(admin.email)
    _, secret = issue(page, owner=inspector.email, scopes=["read"], label="audit")
    token_row = re.compile(r'<td class="last-used">([^<]*)</td>')
    assert token_row.search(page.get("/tokens").get_data(as_text=True))[1] in (
        "never used", "chưa dùng lần nào",
    )  # fmt: skip
    assert api_as(secret).get("/api/v1/products").status_code == 200
    used = token_row.search(page.get("/tokens").get_data(as_text=True))[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", used)
    token = session.exec(select(ApiToken)).one()
    assert page.post(f"/tokens/{token.id}/revoke").status_code == 302
    assert api_as(secret).get("/api/v1/products").status_code == 401


def test_a_farmers_integration_token_sees_only_their_producer(
    login_as: Any, farm_a: Farm, farm_b: Farm, api_as: Any
) -> None:
    page = login_as(farm_a.email)
    form = page.get("/tokens").get_data(as_text=True)
    assert 'value="mint"' in form and 'value="recall"' not in form and 'name="owner"' not in form
    refused, _ = issue(page, scopes=["read", "recall"])
    assert refused.status_code == 422
    _, secret = issue(page, scopes=["read", "mint"], label="ERP của HTX")
    api = api_as(secret)
    lots = api.get("/api/v1/batches").json["items"]
    assert [lot["id"] for lot in lots] == [farm_a.lot_id]
    assert api.get(f"/api/v1/batches/{farm_b.lot_id}").status_code == 404


def test_a_farmer_cannot_issue_for_or_revoke_someone_else(
    login_as: Any, admin: User, inspector: User, farm_a: Farm, session: Session
) -> None:
    issue(login_as(admin.email), owner=inspector.email, scopes=["read"])
    farmer = login_as(farm_a.email)
    issue(farmer, owner=inspector.email, scopes=["read"])  # the owner field is ignored
    tokens = session.exec(select(ApiToken).order_by(ApiToken.id)).all()
    assert [t.user_id for t in tokens] == [inspector.id, farm_a.user.id]
    assert farmer.post(f"/tokens/{tokens[0].id}/revoke").status_code == 404
    session.refresh(tokens[0])
    assert tokens[0].revoked_at is None
    assert "inspector@" not in farmer.get("/tokens").get_data(as_text=True)


def test_inspectors_see_their_tokens_but_only_admins_issue_them(
    login_as: Any, inspector: User, client: Any
) -> None:
    page = login_as(inspector.email)
    assert page.get("/tokens").status_code == 200
    response, secret = issue(page, scopes=["read"])
    assert response.status_code == 404 and secret is None
    assert client.get("/tokens").status_code == 302  # anonymous: to the login page

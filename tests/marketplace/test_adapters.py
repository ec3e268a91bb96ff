"""Both adapters against the real sandbox servers: auth, signing, limits, batches, pages."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from marketplace.adapters import PostmartAdapter, VosoAdapter
from marketplace.errors import AuthError, RateLimited, RemoteRejected, TransientError
from marketplace.http import HttpClient
from marketplace.protocol import ACTIVE, DELISTED, Listing, LotLink, PriceStock
from marketplace.sandbox import voso as voso_sandbox
from tests.marketplace.conftest import READ_TIMEOUT, SandboxAdmin

BASE = "https://trace.example.vn"


def listing(sku: str = "08936000010012", **changes: Any) -> Listing:
    values: dict[str, Any] = dict(
        sku=sku,
        title="Thanh long ruột đỏ",
        description="Thanh long từ HTX Thanh Long, Châu Thành, Long An.",
        category="fruit",
        unit="kg",
        price_vnd=35_000,
        stock=12,
        trace_url=f"{BASE}/01/{sku}",
        lots=(LotLink("TL-1", f"{BASE}/01/{sku}/10/TL-1", f"{BASE}/marketplace/lots/1/qr.png"),),
        images=(f"{BASE}/marketplace/products/1/qr.png",),
    )
    return Listing(**(values | changes))


def signed_call(adapter: VosoAdapter, path: str, body: bytes, sign: str | None = None) -> Any:
    """A raw voso call with a valid token, signed over ``body`` unless ``sign`` is given."""
    token, timestamp = adapter.access_token(), int(time.time())
    params = {
        "partner_id": adapter.client_id,
        "timestamp": timestamp,
        "sign": sign or adapter.sign(path, timestamp, token, body),
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    method = "POST" if body else "GET"
    url = adapter.http.base_url + path
    return requests.request(method, url, params=params, data=body, headers=headers, timeout=5)


# --- voso: OAuth2 client credentials -------------------------------------------------------


def test_voso_fetches_one_token_and_reuses_it(voso: VosoAdapter) -> None:
    created = voso.create_listing(listing(), "key-1")
    assert voso.fetch_status(created.external_id).price_vnd == 35_000
    assert voso.tokens_fetched == 1


def test_voso_expired_token_is_refreshed_and_the_call_retried(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    created = voso.create_listing(listing(), "key-1")
    assert voso_admin.expire_tokens() == 1
    before = voso.http.requests_sent
    assert voso.fetch_status(created.external_id).external_id == created.external_id
    assert voso.tokens_fetched == 2
    assert voso.http.requests_sent - before == 3  # refused call, new token, the call again


def test_voso_renews_a_token_shortly_before_it_expires(voso_admin: SandboxAdmin) -> None:
    voso_admin.configure(token_ttl=120)
    offset = [0.0]
    adapter = VosoAdapter(
        HttpClient(voso_admin.url, (1.0, READ_TIMEOUT)),
        "voso-sandbox-partner",
        "voso-sandbox-secret",
        clock=lambda: time.time() + offset[0],
    )
    adapter.create_listing(listing(), "key-1")
    offset[0] = 70  # within the last minute of the token's life
    before = adapter.http.requests_sent
    assert [item.sku for item in adapter.list_listings()] == [listing().sku]
    assert adapter.tokens_fetched == 2
    assert adapter.http.requests_sent - before == 2  # new token, then the call: no refusal


def test_voso_with_a_wrong_client_secret_gets_an_auth_error(voso_admin: SandboxAdmin) -> None:
    adapter = VosoAdapter(HttpClient(voso_admin.url), "voso-sandbox-partner", "not-the-secret")
    with pytest.raises(AuthError, match="invalid_client"):
        adapter.create_listing(listing(), "key-1")
    assert voso_admin.listings() == []


# --- voso: HMAC-SHA256 signatures ------------------------------------------------------------


def test_voso_sandbox_accepts_a_correctly_signed_request(voso: VosoAdapter) -> None:
    body = json.dumps({"items": [{"item_id": 1, "price": 1000, "stock": 1}]}).encode()
    response = signed_call(voso, "/api/v2/items/price_stock", body)
    assert response.status_code == 200
    assert response.json()["response"]["failure_list"][0]["error"] == "item_not_found"


def test_voso_sandbox_rejects_a_body_changed_after_signing(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    path = "/api/v2/items"
    signed_for = json.dumps(_voso_item("A")).encode()
    token, timestamp = voso.access_token(), int(time.time())
    sign = voso.sign(path, timestamp, token, signed_for)
    tampered = json.dumps(_voso_item("B")).encode()
    response = requests.post(
        voso.http.base_url + path,
        params={"partner_id": voso.client_id, "timestamp": timestamp, "sign": sign},
        data=tampered,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert (response.status_code, response.json()["error"]) == (403, "error_sign")
    assert voso_admin.listings() == []


def test_voso_sandbox_rejects_a_signature_made_with_another_secret(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    path, body = "/api/v2/items", json.dumps(_voso_item("A")).encode()
    token, timestamp = voso.access_token(), int(time.time())
    forged = voso_sandbox.signature("guessed", voso.client_id, path, timestamp, token, body)
    response = signed_call(voso, path, body, sign=forged)
    assert (response.status_code, response.json()["error"]) == (403, "error_sign")
    assert signed_call(voso, path, body).status_code == 200  # the same call, signed right
    assert len(voso_admin.listings()) == 1


def _voso_item(sku: str) -> dict[str, Any]:
    from marketplace.adapters.voso import to_voso

    return to_voso(listing(sku))


# --- voso: batches, partial failures, cursors, validation ---------------------------------


def test_voso_price_and_stock_go_in_batches_of_at_most_50(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    voso_admin.unlimited()
    ids = [voso.create_listing(listing(f"SKU{n}"), f"k{n}").external_id for n in range(120)]
    before = voso.http.requests_sent
    results = voso.update_price_stock([PriceStock(i, 40_000 + n, n) for n, i in enumerate(ids)])
    assert voso.http.requests_sent - before == 3  # 50 + 50 + 20
    assert [r.error for r in results] == [None] * 120
    remote = {str(row["id"]): row["doc"] for row in voso_admin.listings()}
    assert all(
        remote[i]["price"] == 40_000 + n and remote[i]["stock"] == n for n, i in enumerate(ids)
    )


def test_voso_sandbox_refuses_a_batch_of_51(voso: VosoAdapter) -> None:
    items = [{"item_id": n, "price": 1000, "stock": 1} for n in range(51)]
    response = signed_call(voso, "/api/v2/items/price_stock", json.dumps({"items": items}).encode())
    assert (response.status_code, response.json()["error"]) == (400, "batch_too_large")


def test_voso_batch_reports_failures_per_item_and_applies_the_rest(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    good, unlisted, cheap = (
        voso.create_listing(listing(sku), sku).external_id for sku in ("A1", "B2", "C3")
    )
    voso.delist(unlisted)
    results = voso.update_price_stock(
        [
            PriceStock(good, 41_000, 3),
            PriceStock(unlisted, 41_000, 3),
            PriceStock("999999", 41_000, 3),
            PriceStock(cheap, 5, 3),
        ]
    )
    errors = {r.external_id: r.error for r in results}
    assert errors[good] is None
    assert errors[unlisted] is not None and "item_unlisted" in errors[unlisted]
    assert errors["999999"] is not None and "item_not_found" in errors["999999"]
    assert errors[cheap] is not None and "price" in errors[cheap]
    assert voso.fetch_status(good).price_vnd == 41_000
    assert voso.fetch_status(cheap).price_vnd == 35_000


def test_voso_cursor_pagination_returns_every_item_once(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    voso_admin.unlimited()
    ids = {voso.create_listing(listing(f"S{n}"), f"k{n}").external_id for n in range(205)}
    before = voso.http.requests_sent
    seen = [item.external_id for item in voso.list_listings()]
    assert voso.http.requests_sent - before == 3  # pages of 100, 100 and 5
    assert sorted(seen) == sorted(ids)
    assert [item.sku for item in voso.list_listings(sku="S7")] == ["S7"]


def test_voso_sandbox_refuses_a_cursor_it_did_not_give_out(voso: VosoAdapter) -> None:
    path = "/api/v2/items"
    token, timestamp = voso.access_token(), int(time.time())
    response = requests.get(
        voso.http.base_url + path,
        params={
            "partner_id": voso.client_id,
            "timestamp": timestamp,
            "sign": voso.sign(path, timestamp, token, b""),
            "cursor": "not-a-cursor",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_cursor")


def test_voso_validation_error_names_the_field_and_is_not_retryable(
    voso: VosoAdapter, voso_admin: SandboxAdmin
) -> None:
    with pytest.raises(RemoteRejected, match="unit"):
        voso.create_listing(listing(unit="x" * 17), "key-1")
    assert voso_admin.listings() == []


# --- postmart: API key, Vietnamese fields, per-call limits --------------------------------


def test_postmart_listing_is_sent_in_vietnamese_fields_within_its_limits(
    postmart: PostmartAdapter, postmart_admin: SandboxAdmin
) -> None:
    many_lots = tuple(
        LotLink(f"L{n}", f"{BASE}/01/X/10/L{n}", f"{BASE}/marketplace/lots/{n}/qr.png")
        for n in range(25)
    )
    images = tuple(f"{BASE}/i/{n}.png" for n in range(12))
    created = postmart.create_listing(
        listing(title="Thanh long " * 20, lots=many_lots, images=images), "key-1"
    )
    [stored] = postmart_admin.listings()
    doc = stored["doc"]
    assert created.external_id == f"PM{stored['id']:08d}" and created.status == ACTIVE
    assert (doc["ma_sku"], doc["danh_muc"], doc["don_vi_tinh"]) == (
        "08936000010012",
        "NS-TRAI-CAY",
        "kg",
    )
    assert (doc["gia_ban"], doc["so_luong"]) == (35_000, 12)
    assert len(doc["ten_san_pham"]) <= 120 and doc["ten_san_pham"].startswith("Thanh long")
    assert (len(doc["hinh_anh"]), len(doc["truy_xuat"]["lo_hang"])) == (9, 20)
    assert doc["truy_xuat"]["duong_dan"] == f"{BASE}/01/08936000010012"


def test_postmart_refuses_a_wrong_api_key(postmart_admin: SandboxAdmin) -> None:
    adapter = PostmartAdapter(HttpClient(postmart_admin.url), "guessed-key")
    with pytest.raises(AuthError, match="401"):
        adapter.create_listing(listing(), "key-1")
    assert postmart_admin.listings() == []


def test_postmart_validation_error_names_the_field(
    postmart: PostmartAdapter, postmart_admin: SandboxAdmin
) -> None:
    with pytest.raises(RemoteRejected, match="gia_ban"):
        postmart.create_listing(listing(price_vnd=999), "key-1")
    assert postmart_admin.listings() == []


def test_postmart_pages_through_every_listing(
    postmart: PostmartAdapter, postmart_admin: SandboxAdmin
) -> None:
    postmart_admin.unlimited()
    ids = {postmart.create_listing(listing(f"S{n}"), f"k{n}").external_id for n in range(205)}
    before = postmart.http.requests_sent
    seen = [item.external_id for item in postmart.list_listings()]
    assert postmart.http.requests_sent - before == 3
    assert sorted(seen) == sorted(ids)


def test_postmart_sandbox_refuses_pages_over_its_limit(postmart_admin: SandboxAdmin) -> None:
    response = requests.get(
        f"{postmart_admin.url}/api/v1/listings",
        params={"so_dong": 101},
        headers={"X-Api-Key": "pm-sandbox-key"},
        timeout=5,
    )
    assert (response.status_code, response.json()["ma_loi"]) == (422, "vuot_gioi_han")


def test_postmart_price_update_of_a_delisted_listing_fails_alone(
    postmart: PostmartAdapter,
) -> None:
    kept, gone = (postmart.create_listing(listing(s), s).external_id for s in ("A", "B"))
    postmart.delist(gone)
    postmart.delist(gone)  # delisting twice is not an error
    results = postmart.update_price_stock(
        [PriceStock(kept, 50_000, 2), PriceStock(gone, 50_000, 2)]
    )
    assert results[0].error is None
    assert results[1].error is not None and "niem_yet_da_go" in results[1].error
    assert postmart.fetch_status(kept).price_vnd == 50_000
    assert postmart.fetch_status(gone).status == DELISTED


# --- both: idempotency, rate limits, faults -------------------------------------------------


@pytest.fixture(params=["postmart", "voso"])
def adapter_and_admin(request: pytest.FixtureRequest) -> tuple[Any, SandboxAdmin]:
    name = request.param
    return request.getfixturevalue(name), request.getfixturevalue(f"{name}_admin")


def test_a_repeated_create_with_its_key_returns_the_first_listing(
    adapter_and_admin: tuple[Any, SandboxAdmin],
) -> None:
    adapter, admin = adapter_and_admin
    first = adapter.create_listing(listing(), "key-1")
    again = adapter.create_listing(listing(), "key-1")
    assert again.external_id == first.external_id
    assert len(admin.listings()) == 1


def test_a_key_reused_for_other_content_is_refused(
    adapter_and_admin: tuple[Any, SandboxAdmin],
) -> None:
    adapter, admin = adapter_and_admin
    adapter.create_listing(listing(), "key-1")
    with pytest.raises(RemoteRejected, match="reused"):
        adapter.create_listing(listing(price_vnd=36_000), "key-1")
    assert len(admin.listings()) == 1


@pytest.mark.parametrize("fault", ["timeout_after_commit", "drop_after_commit"])
def test_a_create_whose_answer_is_lost_is_ambiguous_and_safe_to_repeat(
    adapter_and_admin: tuple[Any, SandboxAdmin], fault: str
) -> None:
    adapter, admin = adapter_and_admin
    admin.fail_next(fault, method="POST", path="/api/")
    with pytest.raises(TransientError) as raised:
        adapter.create_listing(listing(), "key-1")
    assert raised.value.ambiguous
    assert len(admin.listings()) == 1  # the write committed before the answer was lost
    assert adapter.create_listing(listing(), "key-1").external_id == str(
        _external_id(adapter, admin.listings()[0])
    )
    assert len(admin.listings()) == 1


@pytest.mark.parametrize("fault", ["5xx", "drop"])
def test_a_fault_before_the_write_leaves_nothing_behind(
    adapter_and_admin: tuple[Any, SandboxAdmin], fault: str
) -> None:
    adapter, admin = adapter_and_admin
    admin.fail_next(fault, method="POST", path="/api/")
    with pytest.raises(TransientError):
        adapter.create_listing(listing(), "key-1")
    assert admin.listings() == []


def test_a_rate_limited_call_reports_the_retry_after_seconds(
    adapter_and_admin: tuple[Any, SandboxAdmin],
) -> None:
    adapter, admin = adapter_and_admin
    admin.configure(rate_limit={"capacity": 1, "per_second": 0.25})
    adapter.create_listing(listing(), "key-1")
    with pytest.raises(RateLimited) as raised:
        list(adapter.list_listings())
    assert raised.value.retry_after == 4


def _external_id(adapter: Any, stored: dict[str, Any]) -> str:
    return f"PM{stored['id']:08d}" if adapter.name == "postmart" else str(stored["id"])

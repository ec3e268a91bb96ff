"""The voso-style adapter: OAuth2 client credentials, signed calls, batches of 50, cursors."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from marketplace.errors import AuthError
from marketplace.http import HttpClient, json_body, raise_for_status
from marketplace.oauth import ClientCredentials
from marketplace.protocol import ACTIVE, DELISTED, ItemResult, Listing, PriceStock, RemoteListing

CATEGORIES = {
    "fruit": 100101,
    "vegetable": 100102,
    "grain": 100103,
    "seafood": 100201,
    "processed": 100301,
    "other": 100999,
}
MAX_NAME, MAX_DESCRIPTION, MAX_IMAGES, MAX_LOTS, PAGE_SIZE = 180, 5000, 8, 30, 100


class VosoAdapter:
    """A partner app on a voso-style marketplace."""

    name = "voso"
    max_batch = 50

    def __init__(
        self,
        http: HttpClient,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.client_id, self._secret = client_id, client_secret
        self._clock = clock
        self._credentials = ClientCredentials(
            http, "/oauth/token", client_id, client_secret, _token_error, clock
        )

    # --- authentication and signing ------------------------------------------------------

    @property
    def tokens_fetched(self) -> int:
        """How many access tokens this adapter fetched (tests: tokens are reused)."""
        return self._credentials.fetched

    def access_token(self) -> str:
        """A valid access token, fetched again shortly before the old one expires."""
        return self._credentials.token()

    def sign(self, path: str, timestamp: int, token: str, body: bytes) -> str:
        """HMAC-SHA256, keyed by the client secret, of partner+path+time+token+sha256(body)."""
        digest = hashlib.sha256(body).hexdigest()
        message = "".join((self.client_id, path, str(timestamp), token, digest))
        return hmac.new(self._secret.encode(), message.encode(), hashlib.sha256).hexdigest()

    def _call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """One signed call; a token the marketplace no longer accepts is renewed once."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        params, extra_headers = kwargs.get("params", {}), kwargs.get("headers", {})
        for attempt in (1, 2):
            token = self.access_token()
            timestamp = int(self._clock())
            signed = {
                "partner_id": self.client_id,
                "timestamp": timestamp,
                "sign": self.sign(path, timestamp, token, data),
            }
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            response = self.http.send(
                method,
                path,
                params={**params, **signed},
                data=data,
                headers={**headers, **extra_headers},
            )
            reply = json_body(response)
            if response.status_code == 401 and attempt == 1:
                self._credentials.forget(token)
                continue
            raise_for_status(response, _detail(reply))
            return dict(reply.get("response") or {})
        raise AuthError(f"{method} {path}: the marketplace refused a fresh token")

    # --- the adapter protocol ----------------------------------------------------------------

    def create_listing(self, listing: Listing, idempotency_key: str) -> RemoteListing:
        """Create an item; X-Idempotency-Key makes a retried create return the first item."""
        reply = self._call(
            "POST",
            "/api/v2/items",
            to_voso(listing),
            headers={"X-Idempotency-Key": idempotency_key},
        )
        return from_voso(reply["item"])

    def update_listing(self, external_id: str, listing: Listing) -> RemoteListing:
        """Replace an item's content, price and stock; an unlisted item is listed again."""
        reply = self._call("POST", f"/api/v2/items/{external_id}/update", to_voso(listing))
        return from_voso(reply["item"])

    def update_price_stock(self, items: Sequence[PriceStock]) -> list[ItemResult]:
        """Batches of at most 50; each item succeeds or fails on its own."""
        results: list[ItemResult] = []
        for start in range(0, len(items), self.max_batch):
            chunk = items[start : start + self.max_batch]
            batch = [
                {"item_id": int(i.external_id), "price": i.price_vnd, "stock": i.stock}
                for i in chunk
            ]
            reply = self._call("POST", "/api/v2/items/price_stock", {"items": batch})
            results += [ItemResult(str(s["item_id"])) for s in reply.get("success_list", [])]
            results += [
                ItemResult(str(f["item_id"]), f"{f.get('error')}: {f.get('message')}")
                for f in reply.get("failure_list", [])
            ]
        return results

    def delist(self, external_id: str) -> None:
        """Unlist the item (it stays on the marketplace as UNLIST)."""
        self._call("POST", f"/api/v2/items/{external_id}/unlist", {})

    def fetch_status(self, external_id: str) -> RemoteListing:
        """One item."""
        return from_voso(self._call("GET", f"/api/v2/items/{external_id}")["item"])

    def list_listings(self, sku: str | None = None) -> Iterator[RemoteListing]:
        """Every item, following ``next_cursor`` until ``has_next_page`` is false."""
        cursor = ""
        while True:
            params: dict[str, Any] = {"page_size": PAGE_SIZE, "cursor": cursor}
            if sku is not None:
                params["item_sku"] = sku
            reply = self._call("GET", "/api/v2/items", params=params)
            yield from (from_voso(item) for item in reply.get("items", []))
            cursor = str(reply.get("next_cursor") or "")
            if not reply.get("has_next_page") or not cursor:
                return


def _token_error(reply: dict[str, Any]) -> str:
    return str(reply.get("error", ""))


def _detail(reply: dict[str, Any]) -> str:
    """An error answer as one line: code, message and the fields it names."""
    fields = reply.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    named = "; ".join(f"{name}: {why}" for name, why in fields.items())
    return f"{reply.get('error', '')}: {reply.get('message', '')} {named}".strip()


def to_voso(listing: Listing) -> dict[str, Any]:
    """Our listing as a voso item, cut to its limits."""
    lots = [
        {"lot_code": lot.code, "url": lot.url, "qr_image": lot.qr_png_url}
        for lot in listing.lots[:MAX_LOTS]
    ]
    return {
        "item_sku": listing.sku,
        "item_name": listing.title[:MAX_NAME],
        "description": listing.description[:MAX_DESCRIPTION],
        "category_id": CATEGORIES.get(listing.category, CATEGORIES["other"]),
        "unit": listing.unit,
        "price": listing.price_vnd,
        "stock": listing.stock,
        "images": list(listing.images[:MAX_IMAGES]),
        "traceability": {"url": listing.trace_url, "lots": lots},
    }


def from_voso(item: dict[str, Any]) -> RemoteListing:
    """A voso item as a ``RemoteListing``."""
    return RemoteListing(
        external_id=str(item["item_id"]),
        sku=str(item.get("item_sku", "")),
        status=ACTIVE if item.get("item_status") == "NORMAL" else DELISTED,
        price_vnd=int(item.get("price", 0)),
        stock=int(item.get("stock", 0)),
        title=str(item.get("item_name", "")),
        trace_url=str((item.get("traceability") or {}).get("url", "")),
    )

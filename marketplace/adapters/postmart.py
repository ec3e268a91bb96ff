"""The postmart-style adapter: REST with an API key, Vietnamese field names, one call per item."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from marketplace.errors import RemoteNotFound, RemoteRejected
from marketplace.http import HttpClient, json_body, raise_for_status
from marketplace.protocol import ACTIVE, DELISTED, ItemResult, Listing, PriceStock, RemoteListing

CATEGORIES = {
    "fruit": "NS-TRAI-CAY",
    "vegetable": "NS-RAU-CU",
    "grain": "NS-GAO-NGU-COC",
    "seafood": "TS-HAI-SAN",
    "processed": "TP-CHE-BIEN",
    "other": "NS-KHAC",
}
# Per-call limits postmart publishes (POSTMART.md).
MAX_TITLE, MAX_DESCRIPTION, MAX_IMAGES, MAX_LOTS, PAGE_SIZE = 120, 3000, 9, 20, 100


class PostmartAdapter:
    """A shop on a postmart-style marketplace, identified by its API key."""

    name = "postmart"
    max_batch = 1  # no batch endpoint: price and stock go one PATCH per listing

    def __init__(self, http: HttpClient, api_key: str) -> None:
        self.http = http
        self._headers = {"X-Api-Key": api_key}

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        response = self.http.send(method, path, headers=headers, **kwargs)
        body = json_body(response)
        raise_for_status(response, _detail(body))
        return body

    def create_listing(self, listing: Listing, idempotency_key: str) -> RemoteListing:
        """POST a new listing; the Idempotency-Key makes a retried POST return the first one."""
        body = self._call(
            "POST",
            "/api/v1/listings",
            json=to_postmart(listing),
            headers={"Idempotency-Key": idempotency_key},
        )
        return from_postmart(body)

    def update_listing(self, external_id: str, listing: Listing) -> RemoteListing:
        """PUT the whole listing, which also puts a delisted listing back on sale."""
        body = self._call("PUT", f"/api/v1/listings/{external_id}", json=to_postmart(listing))
        return from_postmart(body)

    def update_price_stock(self, items: Sequence[PriceStock]) -> list[ItemResult]:
        """PATCH each listing; a rejected item is reported, transient errors are raised."""
        results = []
        for item in items:
            change = {"gia_ban": item.price_vnd, "so_luong": item.stock}
            try:
                self._call("PATCH", f"/api/v1/listings/{item.external_id}", json=change)
            except (RemoteRejected, RemoteNotFound) as error:
                results.append(ItemResult(item.external_id, str(error)))
            else:
                results.append(ItemResult(item.external_id))
        return results

    def delist(self, external_id: str) -> None:
        """DELETE takes the listing off sale (postmart keeps it as ``da_go``)."""
        self._call("DELETE", f"/api/v1/listings/{external_id}")

    def fetch_status(self, external_id: str) -> RemoteListing:
        """GET one listing."""
        return from_postmart(self._call("GET", f"/api/v1/listings/{external_id}"))

    def list_listings(self, sku: str | None = None) -> Iterator[RemoteListing]:
        """Page through the shop's listings (``trang`` / ``so_dong``)."""
        page = 1
        while True:
            params: dict[str, Any] = {"trang": page, "so_dong": PAGE_SIZE}
            if sku is not None:
                params["ma_sku"] = sku
            body = self._call("GET", "/api/v1/listings", params=params)
            rows = body.get("du_lieu", [])
            yield from (from_postmart(row) for row in rows)
            if len(rows) < PAGE_SIZE or page * PAGE_SIZE >= int(body.get("tong_so", 0)):
                return
            page += 1


def _detail(body: dict[str, Any]) -> str:
    """An error answer as one line: code (``ma_loi``), message and the fields it names."""
    fields = body.get("chi_tiet")
    if not isinstance(fields, dict):
        fields = {}
    named = "; ".join(f"{name}: {why}" for name, why in fields.items())
    return f"{body.get('ma_loi', '')}: {body.get('thong_bao', '')} {named}".strip()


def to_postmart(listing: Listing) -> dict[str, Any]:
    """Our listing in postmart's fields, cut to its per-call limits."""
    lots = [
        {"ma_lo": lot.code, "duong_dan": lot.url, "ma_qr": lot.qr_png_url}
        for lot in listing.lots[:MAX_LOTS]
    ]
    return {
        "ma_sku": listing.sku,
        "ten_san_pham": listing.title[:MAX_TITLE],
        "mo_ta": listing.description[:MAX_DESCRIPTION],
        "danh_muc": CATEGORIES.get(listing.category, CATEGORIES["other"]),
        "don_vi_tinh": listing.unit,
        "gia_ban": listing.price_vnd,
        "so_luong": listing.stock,
        "hinh_anh": list(listing.images[:MAX_IMAGES]),
        "truy_xuat": {"duong_dan": listing.trace_url, "lo_hang": lots},
    }


def from_postmart(body: dict[str, Any]) -> RemoteListing:
    """A postmart listing as a ``RemoteListing``."""
    return RemoteListing(
        external_id=str(body["ma_niem_yet"]),
        sku=str(body.get("ma_sku", "")),
        status=ACTIVE if body.get("trang_thai") == "dang_ban" else DELISTED,
        price_vnd=int(body.get("gia_ban", 0)),
        stock=int(body.get("so_luong", 0)),
        title=str(body.get("ten_san_pham", "")),
        trace_url=str((body.get("truy_xuat") or {}).get("duong_dan", "")),
    )

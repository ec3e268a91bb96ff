"""A postmart-style sandbox: REST with an API key, Vietnamese field names, prices in VND.

The API is documented in POSTMART.md next to this file. Run it alone with
``python -m marketplace.sandbox postmart --port 5101``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from marketplace.sandbox import store
from marketplace.sandbox.base import ApiError, Checks, SandboxApp, json_object, json_response

DEFAULT_KEYS = {"pm-sandbox-key": "shop-demo"}
ON_SALE, DELISTED = "dang_ban", "da_go"
CATEGORIES = {
    "NS-TRAI-CAY": "Trái cây",
    "NS-RAU-CU": "Rau củ",
    "NS-GAO-NGU-COC": "Gạo và ngũ cốc",
    "TS-HAI-SAN": "Thủy hải sản",
    "TP-CHE-BIEN": "Thực phẩm chế biến",
    "NS-KHAC": "Nông sản khác",
}
MAX_PAGE = 100
PREFIX = "PM"


class PostmartSandbox(SandboxApp):
    """postmart.vn as we model it: one API key per shop, listings under ``/api/v1``."""

    name = "postmart"

    def __init__(
        self,
        db_path: str | Path,
        api_keys: dict[str, str] | None = None,
        admin_token: str = "sandbox-admin",
    ) -> None:
        super().__init__(db_path, admin_token)
        self.api_keys = dict(api_keys or DEFAULT_KEYS)

    def routes(self) -> Iterable[tuple[str, str, list[str]]]:
        return (
            ("/api/v1/categories", "categories", ["GET"]),
            ("/api/v1/listings", "list", ["GET"]),
            ("/api/v1/listings", "create", ["POST"]),
            ("/api/v1/listings/<listing_id>", "get", ["GET"]),
            ("/api/v1/listings/<listing_id>", "replace", ["PUT"]),
            ("/api/v1/listings/<listing_id>", "patch", ["PATCH"]),
            ("/api/v1/listings/<listing_id>", "delete", ["DELETE"]),
        )

    def authenticate(self, request: Request) -> str:
        given = request.headers.get("X-Api-Key", "")
        for key, shop in self.api_keys.items():
            if hmac.compare_digest(given, key):
                return shop
        raise ApiError(401, "khoa_api_khong_hop_le", "missing or unknown X-Api-Key")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"ma_loi": error.code, "thong_bao": str(error), "chi_tiet": error.fields}

    # --- endpoints ----------------------------------------------------------------------

    def on_categories(self, request: Request, caller: str) -> Response:
        items = [{"ma": code, "ten": name} for code, name in CATEGORIES.items()]
        return json_response({"danh_muc": items})

    def on_list(self, request: Request, caller: str) -> Response:
        page = _positive(request.args.get("trang", "1"), "trang")
        size = _positive(request.args.get("so_dong", "50"), "so_dong")
        if size > MAX_PAGE:
            raise ApiError(422, "vuot_gioi_han", f"so_dong is at most {MAX_PAGE}")
        where, params = "shop = ?", [caller]
        if "ma_sku" in request.args:
            where, params = where + " AND sku = ?", [caller, request.args["ma_sku"]]
        with self.store.read() as conn:
            total = conn.execute(f"SELECT count(*) FROM listings WHERE {where}", params).fetchone()
            rows = conn.execute(
                f"SELECT * FROM listings WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                (*params, size, (page - 1) * size),
            ).fetchall()
        body = {"du_lieu": [_public(r) for r in rows], "trang": page, "so_dong": size}
        return json_response({**body, "tong_so": total[0]})

    def on_create(self, request: Request, caller: str) -> Response:
        doc = _checked_listing(json_object(request))
        return self.idempotent(
            request, caller, "Idempotency-Key", lambda conn: self._insert(conn, caller, doc)
        )

    def on_get(self, request: Request, caller: str, listing_id: str) -> Response:
        with self.store.read() as conn:
            row = _own(conn, caller, listing_id)
        return json_response(_public(row))

    def on_replace(self, request: Request, caller: str, listing_id: str) -> Response:
        doc = _checked_listing(json_object(request))

        def replace(conn: Any) -> tuple[int, dict[str, Any]]:
            row = _own(conn, caller, listing_id)
            store.update_listing(conn, row["id"], status=ON_SALE, sku=doc["ma_sku"], doc=doc)
            return 200, _public(_own(conn, caller, listing_id))

        return self.idempotent(request, caller, "Idempotency-Key", replace)

    def on_patch(self, request: Request, caller: str, listing_id: str) -> Response:
        body, checks = json_object(request), Checks()
        changes = {}
        if "gia_ban" in body:
            changes["gia_ban"] = checks.integer(body, "gia_ban", 1_000, 1_000_000_000)
        if "so_luong" in body:
            changes["so_luong"] = checks.integer(body, "so_luong", 0, 100_000)
        if not changes:
            checks.fail("gia_ban", "give gia_ban and/or so_luong")
        checks.done()
        with self.store.write() as conn:
            row = _own(conn, caller, listing_id)
            if row["status"] == DELISTED:
                raise ApiError(409, "niem_yet_da_go", "the listing is delisted; PUT it again")
            store.update_listing(conn, row["id"], doc={**json.loads(row["doc"]), **changes})
            return json_response(_public(_own(conn, caller, listing_id)))

    def on_delete(self, request: Request, caller: str, listing_id: str) -> Response:
        with self.store.write() as conn:
            row = _own(conn, caller, listing_id)
            store.update_listing(conn, row["id"], status=DELISTED)
            return json_response(_public(_own(conn, caller, listing_id)))

    # --- helpers --------------------------------------------------------------------------

    def _insert(self, conn: Any, shop: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        listing_id = store.insert_listing(conn, shop, doc["ma_sku"], ON_SALE, doc)
        return 201, _public(store.get_listing(conn, shop, listing_id))


def _checked_listing(body: dict[str, Any]) -> dict[str, Any]:
    checks = Checks()
    doc = {
        "ma_sku": checks.text(body, "ma_sku", 40),
        "ten_san_pham": checks.text(body, "ten_san_pham", 120),
        "mo_ta": checks.text(body, "mo_ta", 3000, least=0) if "mo_ta" in body else "",
        "danh_muc": body.get("danh_muc"),
        "don_vi_tinh": checks.text(body, "don_vi_tinh", 16),
        "gia_ban": checks.integer(body, "gia_ban", 1_000, 1_000_000_000),
        "so_luong": checks.integer(body, "so_luong", 0, 100_000),
        "hinh_anh": [checks.url(u, "hinh_anh") for u in checks.items(body, "hinh_anh", 1, 9)],
        "truy_xuat": _checked_trace(checks, body.get("truy_xuat")),
    }
    if doc["danh_muc"] not in CATEGORIES:
        checks.fail("danh_muc", "one of " + ", ".join(CATEGORIES))
    checks.done()
    return doc


def _checked_trace(checks: Checks, trace: Any) -> dict[str, Any]:
    if not isinstance(trace, dict):
        checks.fail("truy_xuat", "an object with duong_dan and lo_hang")
        return {}
    lots = []
    for lot in checks.items(trace, "lo_hang", 0, 20):
        lot = lot if isinstance(lot, dict) else {}
        code = checks.text(lot, "ma_lo", 20)
        lots.append({"ma_lo": code, "duong_dan": checks.url(lot.get("duong_dan"), "lo_hang")})
        lots[-1]["ma_qr"] = checks.url(lot.get("ma_qr"), "lo_hang")
    return {"duong_dan": checks.url(trace.get("duong_dan"), "truy_xuat"), "lo_hang": lots}


def _own(conn: Any, shop: str, listing_id: str) -> Any:
    number = listing_id[len(PREFIX) :]
    row = None
    if listing_id.startswith(PREFIX) and number.isdigit():
        row = store.get_listing(conn, shop, int(number))
    if row is None:
        raise ApiError(404, "khong_tim_thay", f"no listing {listing_id}")
    return row


def _public(row: Any) -> dict[str, Any]:
    return {
        "ma_niem_yet": f"{PREFIX}{row['id']:08d}",
        **json.loads(row["doc"]),
        "trang_thai": row["status"],
        "ngay_tao": _iso(row["created_at"]),
        "ngay_cap_nhat": _iso(row["updated_at"]),
    }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _positive(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ApiError(422, "tham_so_khong_hop_le", f"{name} must be a positive integer")
    return int(value)


def create_app(db_path: str | Path, **kwargs: Any) -> PostmartSandbox:
    """A postmart sandbox persisting to ``db_path`` (the WSGI entry point)."""
    return PostmartSandbox(db_path, **kwargs)

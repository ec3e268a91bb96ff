"""A voso-style sandbox: OAuth2 client credentials, HMAC-SHA256 signed calls, batches.

Modelled on Shopee's open platform (signed query) and Lazada (batched price and stock,
partial failures). The API is documented in VOSO.md next to this file. Run it alone with
``python -m marketplace.sandbox voso --port 5102``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from marketplace.sandbox import store
from marketplace.sandbox.base import ApiError, Checks, SandboxApp, json_object, json_response

DEFAULT_CLIENTS = {"voso-sandbox-partner": "voso-sandbox-secret"}
NORMAL, UNLIST = "NORMAL", "UNLIST"
CATEGORIES = {100101: "Trái cây", 100102: "Rau củ", 100103: "Gạo", 100201: "Thủy sản",
              100301: "Thực phẩm chế biến", 100999: "Nông sản khác"}  # fmt: skip
MAX_BATCH, MAX_PAGE, CLOCK_SKEW = 50, 100, 300


def signature(
    secret: str, partner_id: str, path: str, timestamp: int, token: str, body: bytes
) -> str:
    """The request signature: HMAC-SHA256 over partner, path, time, token and body hash."""
    base = f"{partner_id}{path}{timestamp}{token}{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), base.encode(), hashlib.sha256).hexdigest()


class VosoSandbox(SandboxApp):
    """voso.vn as we model it: partners get tokens, then sign every call under ``/api/v2``."""

    name = "voso"

    def __init__(
        self,
        db_path: str | Path,
        clients: dict[str, str] | None = None,
        admin_token: str = "sandbox-admin",
    ) -> None:
        super().__init__(db_path, admin_token)
        self.clients = dict(clients or DEFAULT_CLIENTS)
        self.token_ttl = 3600

    def routes(self) -> Iterable[tuple[str, str, list[str]]]:
        return (
            ("/oauth/token", "token", ["POST"]),
            ("/api/v2/items", "list", ["GET"]),
            ("/api/v2/items", "create", ["POST"]),
            ("/api/v2/items/price_stock", "price_stock", ["POST"]),
            ("/api/v2/items/<int:item_id>", "get", ["GET"]),
            ("/api/v2/items/<int:item_id>/update", "update", ["POST"]),
            ("/api/v2/items/<int:item_id>/unlist", "unlist", ["POST"]),
        )

    def public_paths(self) -> tuple[str, ...]:
        return ("/oauth/token",)

    def configure(self, settings: dict[str, Any]) -> None:
        super().configure(settings)
        self.token_ttl = int(settings.get("token_ttl", self.token_ttl))

    def reset(self) -> None:
        super().reset()
        self.token_ttl = 3600

    def admin_extra(self, request: Request) -> Response | None:
        """``POST /_admin/expire_tokens``: every access token expires now (as after a clock
        jump or a key rotation), so partners must fetch new ones."""
        if request.path != "/_admin/expire_tokens" or request.method != "POST":
            return None
        with self.store.write() as conn:
            expired = conn.execute(
                "UPDATE tokens SET expires_at = ? WHERE expires_at > ?", (time.time() - 1,) * 2
            ).rowcount
        return json_response({"expired": expired})

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body = {"request_id": uuid.uuid4().hex, "error": error.code, "message": str(error)}
        return {**body, "fields": error.fields}

    def authenticate(self, request: Request) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None or row["expires_at"] < time.time():
            raise ApiError(401, "invalid_access_token", "access token missing, unknown or expired")
        partner = request.args.get("partner_id", "")
        if partner != row["client_id"]:
            raise ApiError(403, "error_partner", "partner_id does not own the access token")
        timestamp = request.args.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > CLOCK_SKEW:
            raise ApiError(403, "error_timestamp", f"timestamp is more than {CLOCK_SKEW} s off")
        expected = signature(
            self.clients[partner], partner, request.path, int(timestamp), token, request.get_data()
        )
        if not hmac.compare_digest(request.args.get("sign", ""), expected):
            raise ApiError(403, "error_sign", "wrong sign")
        return partner

    # --- endpoints ----------------------------------------------------------------------

    def on_token(self, request: Request) -> Response:
        form = request.form
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username or ""
            secret = request.authorization.password or ""
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        known = self.clients.get(client_id)
        if known is None or not hmac.compare_digest(known, secret):
            raise ApiError(401, "invalid_client", "unknown client or wrong secret")
        token = secrets.token_urlsafe(24)
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO tokens (token, client_id, expires_at) VALUES (?, ?, ?)",
                (token, client_id, time.time() + self.token_ttl),
            )
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return json_response(body)

    def on_list(self, request: Request, caller: str) -> Response:
        size = request.args.get("page_size", "20")
        if not size.isdigit() or not 1 <= int(size) <= MAX_PAGE:
            raise ApiError(400, "invalid_page_size", f"page_size is 1 to {MAX_PAGE}")
        after = _after(request.args.get("cursor", ""))
        where, params = "shop = ? AND id > ?", [caller, after]
        if "item_sku" in request.args:
            where, params = where + " AND sku = ?", [*params, request.args["item_sku"]]
        with self.store.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM listings WHERE {where} ORDER BY id LIMIT ?",
                (*params, int(size) + 1),
            ).fetchall()
        page, more = rows[: int(size)], len(rows) > int(size)
        cursor = _cursor(page[-1]["id"]) if more else ""
        items = [_public(row) for row in page]
        return _ok({"items": items, "has_next_page": more, "next_cursor": cursor})

    def on_create(self, request: Request, caller: str) -> Response:
        doc = _checked_item(json_object(request))

        def create(conn: Any) -> tuple[int, Any]:
            item_id = store.insert_listing(conn, caller, doc["item_sku"], NORMAL, doc)
            return 200, _envelope({"item": _public(store.get_listing(conn, caller, item_id))})

        return self.idempotent(request, caller, "X-Idempotency-Key", create)

    def on_get(self, request: Request, caller: str, item_id: int) -> Response:
        with self.store.read() as conn:
            return _ok({"item": _public(_own(conn, caller, item_id))})

    def on_update(self, request: Request, caller: str, item_id: int) -> Response:
        doc = _checked_item(json_object(request))

        def update(conn: Any) -> tuple[int, Any]:
            _own(conn, caller, item_id)
            store.update_listing(conn, item_id, status=NORMAL, sku=doc["item_sku"], doc=doc)
            return 200, _envelope({"item": _public(_own(conn, caller, item_id))})

        return self.idempotent(request, caller, "X-Idempotency-Key", update)

    def on_unlist(self, request: Request, caller: str, item_id: int) -> Response:
        with self.store.write() as conn:
            _own(conn, caller, item_id)
            store.update_listing(conn, item_id, status=UNLIST)
            return _ok({"item": _public(_own(conn, caller, item_id))})

    def on_price_stock(self, request: Request, caller: str) -> Response:
        items = json_object(request).get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "invalid_items", "items must be a non-empty list")
        if len(items) > MAX_BATCH:
            raise ApiError(400, "batch_too_large", f"at most {MAX_BATCH} items per call")
        success, failure = [], []
        with self.store.write() as conn:
            for item in items:
                error = _apply_price_stock(conn, caller, item if isinstance(item, dict) else {})
                item_id = item.get("item_id") if isinstance(item, dict) else None
                if error is None:
                    success.append({"item_id": item_id})
                else:
                    failure.append({"item_id": item_id, "error": error[0], "message": error[1]})
        return _ok({"success_list": success, "failure_list": failure})


def _apply_price_stock(conn: Any, shop: str, item: dict[str, Any]) -> tuple[str, str] | None:
    checks = Checks()
    price = checks.integer(item, "price", 1_000, 1_000_000_000)
    stock = checks.integer(item, "stock", 0, 999_999)
    if checks.fields:
        return "invalid_value", "; ".join(f"{k}: {v}" for k, v in checks.fields.items())
    item_id = item.get("item_id")
    row = store.get_listing(conn, shop, item_id) if isinstance(item_id, int) else None
    if row is None:
        return "item_not_found", f"no item {item_id}"
    assert isinstance(item_id, int)  # the listing was found by it
    if row["status"] == UNLIST:
        return "item_unlisted", "the item is unlisted; update it to sell again"
    store.update_listing(
        conn, item_id, doc={**json.loads(row["doc"]), "price": price, "stock": stock}
    )
    return None


def _checked_item(body: dict[str, Any]) -> dict[str, Any]:
    checks = Checks()
    doc = {
        "item_sku": checks.text(body, "item_sku", 64),
        "item_name": checks.text(body, "item_name", 180),
        "description": checks.text(body, "description", 5000, least=0)
        if "description" in body
        else "",
        "category_id": body.get("category_id"),
        "unit": checks.text(body, "unit", 16),
        "price": checks.integer(body, "price", 1_000, 1_000_000_000),
        "stock": checks.integer(body, "stock", 0, 999_999),
        "images": [checks.url(u, "images") for u in checks.items(body, "images", 1, 8)],
        "traceability": _checked_trace(checks, body.get("traceability")),
    }
    if doc["category_id"] not in CATEGORIES:
        checks.fail("category_id", "one of " + ", ".join(map(str, CATEGORIES)))
    checks.done(400, "invalid_item")
    return doc


def _checked_trace(checks: Checks, trace: Any) -> dict[str, Any]:
    if not isinstance(trace, dict):
        checks.fail("traceability", "an object with url and lots")
        return {}
    lots = []
    for lot in checks.items(trace, "lots", 0, 30):
        lot = lot if isinstance(lot, dict) else {}
        code = checks.text(lot, "lot_code", 20)
        url = checks.url(lot.get("url"), "traceability.lots")
        lots.append(
            {
                "lot_code": code,
                "url": url,
                "qr_image": checks.url(lot.get("qr_image"), "traceability.lots"),
            }
        )
    return {"url": checks.url(trace.get("url"), "traceability.url"), "lots": lots}


def _own(conn: Any, shop: str, item_id: int) -> Any:
    row = store.get_listing(conn, shop, item_id)
    if row is None:
        raise ApiError(404, "item_not_found", f"no item {item_id}")
    return row


def _public(row: Any) -> dict[str, Any]:
    doc = json.loads(row["doc"])
    times = {"create_time": int(row["created_at"]), "update_time": int(row["updated_at"])}
    return {"item_id": row["id"], **doc, "item_status": row["status"], **times}


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode()


def _after(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "invalid_cursor", "cursor is not one we gave out") from None
    if not isinstance(after, int):
        raise ApiError(400, "invalid_cursor", "cursor is not one we gave out")
    return after


def _envelope(response: Any) -> dict[str, Any]:
    return {"request_id": uuid.uuid4().hex, "error": "", "message": "", "response": response}


def _ok(response: Any) -> Response:
    return json_response(_envelope(response))


def create_app(db_path: str | Path, **kwargs: Any) -> VosoSandbox:
    """A voso sandbox persisting to ``db_path`` (the WSGI entry point)."""
    return VosoSandbox(db_path, **kwargs)

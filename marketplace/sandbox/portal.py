"""A sandbox of the national traceability portal: client credentials, GTIN checks, faults.

The real portal's API is not public; this sandbox follows the object model that is known
(organisation profile by tax code or GLN, products by GTIN, growing areas, production
orders with a trace code, stage events, recalls) with the paths and fields of
``marketplace.portal.mapping``. Documented in PORTAL.md next to this file. Run it alone
with ``python -m marketplace.sandbox portal --port 5103``.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from marketplace.portal import mapping as m
from marketplace.sandbox.base import ApiError, Checks, SandboxApp, json_object, json_response

DEFAULT_CLIENTS = {"portal-sandbox-province": "portal-sandbox-secret"}
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client TEXT NOT NULL,
    collection TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_portal_objects_ref ON portal_objects (client, collection, source_ref);
"""
COLLECTIONS = {
    "organizations": m.ORGANIZATIONS_PATH,
    "products": m.PRODUCTS_PATH,
    "growing_areas": m.GROWING_AREAS_PATH,
    "production_orders": m.PRODUCTION_ORDERS_PATH,
    "stage_events": m.STAGE_EVENTS_PATH,
}


def gtin_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gtin_problem(value: Any) -> str | None:
    """Why ``value`` is not a GTIN-8/12/13/14, or None."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return "a GTIN is 8, 12, 13 or 14 digits"
    if len(value) not in (8, 12, 13, 14):
        return "a GTIN is 8, 12, 13 or 14 digits"
    expected = gtin_check_digit(value[:-1])
    if value[-1] != expected:
        return f"wrong check digit: expected {expected}"
    return None


class PortalSandbox(SandboxApp):
    """The national portal as we model it: province systems push their producers' data."""

    name = "portal"

    def __init__(
        self,
        db_path: str | Path,
        clients: dict[str, str] | None = None,
        admin_token: str = "sandbox-admin",
    ) -> None:
        super().__init__(db_path, admin_token)
        with self.store.read() as conn:
            conn.executescript(SCHEMA)
        self.clients = dict(clients or DEFAULT_CLIENTS)
        self.token_ttl = 3600
        for collection in COLLECTIONS:
            for action in ("list", "get", "create", "update"):
                handler = partial(getattr(self, f"_{action}"), collection=collection)
                setattr(self, f"on_{action}_{collection}", handler)

    def routes(self) -> Iterable[tuple[str, str, list[str]]]:
        yield (m.TOKEN_PATH, "token", ["POST"])
        yield (m.ACTIVATE_PATH, "activate", ["POST"])
        for collection, path in COLLECTIONS.items():
            yield (path, f"list_{collection}", ["GET"])
            yield (f"{path}/<int:object_id>", f"get_{collection}", ["GET"])
            if collection != "organizations":
                yield (path, f"create_{collection}", ["POST"])
                yield (f"{path}/<int:object_id>", f"update_{collection}", ["PUT"])
        yield (m.RECALL_PATH.replace("{id}", "<int:object_id>"), "recall", ["POST"])

    def public_paths(self) -> tuple[str, ...]:
        return (m.TOKEN_PATH,)

    # --- sandbox administration -------------------------------------------------------

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {
            "request_id": uuid.uuid4().hex,
            m.ERROR_CODE: error.code,
            m.ERROR_MESSAGE: str(error),
            m.ERROR_FIELDS: error.fields,
        }

    def reset(self) -> None:
        super().reset()
        with self.store.write() as conn:
            conn.execute("DELETE FROM portal_objects")

    def stats(self) -> dict[str, Any]:
        with self.store.read() as conn:
            count = conn.execute("SELECT count(*) FROM portal_objects").fetchone()[0]
        return {"requests": self.requests, "faults": self.faults.injected, "objects": count,
                "paths": dict(self.paths)}  # fmt: skip

    def all_listings(self) -> list[dict[str, Any]]:
        """Every stored object (``GET /_admin/listings``), with its collection."""
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM portal_objects ORDER BY id").fetchall()
        return [_public(row) | {"collection": row["collection"]} for row in rows]

    def authenticate(self, request: Request) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None or row["expires_at"] < time.time():
            raise ApiError(401, "invalid_token", "access token missing, unknown or expired")
        return str(row["client_id"])

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
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        )

    def on_activate(self, request: Request, caller: str) -> Response:
        """Activate an organisation by tax code or GLN; activating it again returns it."""
        body, checks = json_object(request), Checks()
        doc: dict[str, Any] = {m.ORG_NAME: checks.text(body, m.ORG_NAME, 200),
               m.ORG_ADDRESS: checks.text(body, m.ORG_ADDRESS, 300)}  # fmt: skip
        tax_code, gln = body.get(m.TAX_CODE), body.get(m.GLN)
        if gln:
            if gtin_problem(gln) is not None or len(str(gln)) != 13:
                checks.fail(m.GLN, "a GLN is 13 digits with a valid check digit")
            ref = f"gln:{gln}"
        elif isinstance(tax_code, str) and TAX_CODE.match(tax_code):
            ref = f"tax:{tax_code}"
        else:
            checks.fail(m.TAX_CODE, "a tax code of 10 digits (or 10-3) or a GLN is required")
            ref = ""
        checks.done()
        doc |= {m.TAX_CODE: tax_code, m.GLN: gln, m.SOURCE_REF: ref, m.STATUS: "active"}
        with self.store.write() as conn:
            row = _find(conn, caller, "organizations", ref)
            object_id = row["id"] if row else _insert(conn, caller, "organizations", ref, doc)
            return _ok(_public(_row(conn, caller, "organizations", object_id)))

    def _list(self, request: Request, caller: str, collection: str) -> Response:
        ref = request.args.get(m.SOURCE_REF)
        where, params = "client = ? AND collection = ?", [caller, collection]
        if ref is not None:
            where, params = where + " AND source_ref = ?", [*params, ref]
        with self.store.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM portal_objects WHERE {where} ORDER BY id LIMIT 500", params
            ).fetchall()
        return _ok({m.ITEMS: [_public(row) for row in rows]})

    def _get(self, request: Request, caller: str, object_id: int, collection: str) -> Response:
        with self.store.read() as conn:
            return _ok(_public(_row(conn, caller, collection, object_id)))

    def _create(self, request: Request, caller: str, collection: str) -> Response:
        body = json_object(request)
        with self.store.read() as conn:
            doc = self._checked(conn, caller, collection, body)

        def create(conn: sqlite3.Connection) -> tuple[int, Any]:
            object_id = _insert(conn, caller, collection, doc[m.SOURCE_REF], doc)
            return 201, {m.DATA: _public(_row(conn, caller, collection, object_id))}

        return self.idempotent(request, caller, m.IDEMPOTENCY_HEADER, create)

    def _update(self, request: Request, caller: str, object_id: int, collection: str) -> Response:
        body = json_object(request)
        with self.store.write() as conn:
            old = json.loads(_row(conn, caller, collection, object_id)["doc"])
            doc = self._checked(conn, caller, collection, body) | {
                m.STATUS: old.get(m.STATUS, "active")
            }
            conn.execute(
                "UPDATE portal_objects SET doc = ?, source_ref = ?, updated_at = ? WHERE id = ?",
                (json.dumps(doc), doc[m.SOURCE_REF], time.time(), object_id),
            )
            return _ok(_public(_row(conn, caller, collection, object_id)))

    def on_recall(self, request: Request, caller: str, object_id: int) -> Response:
        body, checks = json_object(request), Checks()
        reason = checks.text(body, m.RECALL_REASON, 500)
        recalled_at = checks.text(body, m.RECALLED_AT, 40)
        checks.done()
        with self.store.write() as conn:
            doc = json.loads(_row(conn, caller, "production_orders", object_id)["doc"])
            doc |= {m.STATUS: "recalled", m.RECALL_REASON: reason, m.RECALLED_AT: recalled_at}
            conn.execute(
                "UPDATE portal_objects SET doc = ?, updated_at = ? WHERE id = ?",
                (json.dumps(doc), time.time(), object_id),
            )
            return _ok(_public(_row(conn, caller, "production_orders", object_id)))

    # --- validation ---------------------------------------------------------------------

    def _checked(
        self, conn: sqlite3.Connection, caller: str, collection: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        checks = Checks()
        doc: dict[str, Any] = {m.SOURCE_REF: checks.text(body, m.SOURCE_REF, 100)}
        org = body.get(m.ORG_ID)
        if not isinstance(org, int) or _maybe(conn, caller, "organizations", org) is None:
            checks.fail(m.ORG_ID, "an activated organisation's id")
        doc[m.ORG_ID] = org
        doc |= _FIELDS[collection](conn, caller, checks, body)
        checks.done()
        return doc


def _product(
    conn: sqlite3.Connection, caller: str, checks: Checks, body: dict[str, Any]
) -> dict[str, Any]:
    problem = gtin_problem(body.get(m.GTIN))
    if problem:
        checks.fail(m.GTIN, problem)
    return {
        m.GTIN: body.get(m.GTIN),
        m.PRODUCT_NAME: checks.text(body, m.PRODUCT_NAME, 200),
        m.PRODUCT_NAME_EN: str(body.get(m.PRODUCT_NAME_EN) or ""),
        m.PRODUCT_CATEGORY: checks.text(body, m.PRODUCT_CATEGORY, 32),
        m.UNIT: checks.text(body, m.UNIT, 16),
    }


def _area(
    conn: sqlite3.Connection, caller: str, checks: Checks, body: dict[str, Any]
) -> dict[str, Any]:
    values = {}
    for name, low, high in ((m.AREA_HECTARES, 0, 1e6), (m.LATITUDE, -90, 90),
                            (m.LONGITUDE, -180, 180)):  # fmt: skip
        value = body.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            checks.fail(name, f"a number from {low} to {high}")
        values[name] = value
    return {m.AREA_NAME: checks.text(body, m.AREA_NAME, 120), **values}


def _order(
    conn: sqlite3.Connection, caller: str, checks: Checks, body: dict[str, Any]
) -> dict[str, Any]:
    gtin = body.get(m.ORDER_GTIN)
    products = conn.execute(
        "SELECT 1 FROM portal_objects WHERE client = ? AND collection = 'products'"
        " AND json_extract(doc, '$.gtin') = ?",
        (caller, gtin),
    ).fetchone()
    if products is None:
        checks.fail(m.ORDER_GTIN, "a product registered on the portal")
    area = body.get(m.ORDER_AREA)
    if area is not None and (
        not isinstance(area, int) or _maybe(conn, caller, "growing_areas", area) is None
    ):
        checks.fail(m.ORDER_AREA, "a growing area registered on the portal")
    return {
        m.ORDER_CODE: checks.text(body, m.ORDER_CODE, 20),
        m.ORDER_GTIN: gtin,
        m.ORDER_AREA: area,
        m.TRACE_CODE: checks.url(body.get(m.TRACE_CODE), m.TRACE_CODE),
        m.QUANTITY: body.get(m.QUANTITY),
        m.UNIT: checks.text(body, m.UNIT, 16),
        m.HARVEST_DATE: checks.text(body, m.HARVEST_DATE, 10),
        m.STATUS: "active",
    }


def _event(
    conn: sqlite3.Connection, caller: str, checks: Checks, body: dict[str, Any]
) -> dict[str, Any]:
    trace = body.get(m.TRACE_CODE)
    known = conn.execute(
        "SELECT 1 FROM portal_objects WHERE client = ? AND collection = 'production_orders'"
        " AND json_extract(doc, '$.trace_code') = ?",
        (caller, trace),
    ).fetchone()
    if known is None:
        checks.fail(m.TRACE_CODE, "the trace code of a production order on the portal")
    if body.get(m.STAGE) not in m.PORTAL_STAGES:
        checks.fail(m.STAGE, "one of " + ", ".join(m.PORTAL_STAGES))
    return {
        m.TRACE_CODE: trace,
        m.STAGE: body.get(m.STAGE),
        m.EVENT_TIME: checks.text(body, m.EVENT_TIME, 40),
        m.LOCATION: str(body.get(m.LOCATION) or ""),
        m.NOTE: str(body.get(m.NOTE) or ""),
        m.REPLACES: body.get(m.REPLACES),
    }


_FIELDS: dict[str, Callable[..., dict[str, Any]]] = {
    "products": _product,
    "growing_areas": _area,
    "production_orders": _order,
    "stage_events": _event,
}


def _insert(
    conn: sqlite3.Connection, caller: str, collection: str, ref: str, doc: dict[str, Any]
) -> int:
    now = time.time()
    cursor = conn.execute(
        "INSERT INTO portal_objects (client, collection, source_ref, doc, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (caller, collection, ref, json.dumps(doc), now, now),
    )
    return int(cursor.lastrowid or 0)


def _find(conn: sqlite3.Connection, caller: str, collection: str, ref: str) -> Any:
    return conn.execute(
        "SELECT * FROM portal_objects WHERE client = ? AND collection = ? AND source_ref = ?",
        (caller, collection, ref),
    ).fetchone()


def _maybe(conn: sqlite3.Connection, caller: str, collection: str, object_id: int) -> Any:
    return conn.execute(
        "SELECT * FROM portal_objects WHERE client = ? AND collection = ? AND id = ?",
        (caller, collection, object_id),
    ).fetchone()


def _row(conn: sqlite3.Connection, caller: str, collection: str, object_id: int) -> Any:
    row = _maybe(conn, caller, collection, object_id)
    if row is None:
        raise ApiError(404, "not_found", f"no {collection} {object_id}")
    return row


def _public(row: Any) -> dict[str, Any]:
    times = {"created_at": int(row["created_at"]), "updated_at": int(row["updated_at"])}
    return {m.ID: row["id"], **json.loads(row["doc"]), **times}


def _ok(data: Any) -> Response:
    return json_response({m.DATA: data})


def create_app(db_path: str | Path, **kwargs: Any) -> PortalSandbox:
    """A portal sandbox persisting to ``db_path`` (the WSGI entry point)."""
    return PortalSandbox(db_path, **kwargs)

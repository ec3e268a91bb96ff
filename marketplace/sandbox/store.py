"""A sandbox's persistence: listings, idempotency records and tokens in one SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS listings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop TEXT NOT NULL,
    sku TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_listings_shop_sku ON listings (shop, sku);
CREATE TABLE IF NOT EXISTS idempotency (
    shop TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (shop, key)
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


class Store:
    """One SQLite file; a connection per call so server threads never share one."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # WAL + NORMAL, as the service's own SQLite: no fsync per write (a sandbox may lose
        # its last writes on power loss, never its consistency).
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads."""
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: writers are serialized, then commit."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def wipe(self) -> None:
        """Delete every row (the admin reset)."""
        with self.write() as conn:
            for table in ("listings", "idempotency", "tokens"):
                conn.execute(f"DELETE FROM {table}")  # fixed table names, not input


def insert_listing(
    conn: sqlite3.Connection, shop: str, sku: str, status: str, doc: dict[str, Any]
) -> int:
    """Add a listing row (``doc`` holds its fields in the marketplace's format)."""
    now = time.time()
    cursor = conn.execute(
        "INSERT INTO listings (shop, sku, status, doc, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (shop, sku, status, json.dumps(doc), now, now),
    )
    return int(cursor.lastrowid or 0)


def update_listing(conn: sqlite3.Connection, listing_id: int, **values: Any) -> None:
    """Change a listing's ``status`` and/or ``doc``."""
    if "doc" in values:
        values["doc"] = json.dumps(values["doc"])
    values["updated_at"] = time.time()
    assignments = ", ".join(f"{name} = ?" for name in values)
    # The column names come from our callers' keyword names, never from a request.
    conn.execute(f"UPDATE listings SET {assignments} WHERE id = ?", (*values.values(), listing_id))


def get_listing(conn: sqlite3.Connection, shop: str, listing_id: int) -> sqlite3.Row | None:
    """One of the shop's listings, or None."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM listings WHERE id = ? AND shop = ?", (listing_id, shop)
    ).fetchone()
    return row


def replay(conn: sqlite3.Connection, shop: str, key: str) -> sqlite3.Row | None:
    """The stored answer to an earlier request with this idempotency key."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM idempotency WHERE shop = ? AND key = ?", (shop, key)
    ).fetchone()
    return row


def remember(
    conn: sqlite3.Connection, shop: str, key: str, fingerprint: str, status: int, body: Any
) -> None:
    """Store the answer to a request so a retry with its key gets the same answer."""
    conn.execute(
        "INSERT INTO idempotency (shop, key, fingerprint, status, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (shop, key, fingerprint, status, json.dumps(body), time.time()),
    )

"""py-evm's AtomicDatabaseAPI on one SQLite file (WAL), so the embedded chain survives restarts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth.db.diff import DBDiff

from chain.errors import ChainStoreCorrupted

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteAtomicDB(BaseAtomicDB):
    """A key-value store for py-evm on SQLite.

    Writes outside ``atomic_batch()`` commit at once; an ``atomic_batch()`` is one SQLite
    transaction (or a savepoint within :meth:`transaction`), so a block and its indexes
    land together or not at all. WAL journaling
    with ``synchronous=FULL``: a committed block survives a crash or power loss.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ChainStoreCorrupted(f"{path} is not a usable SQLite database: {exc}") from exc

    def check_integrity(self) -> None:
        """Run SQLite's quick_check over the whole file.

        Raises:
            ChainStoreCorrupted: the file is truncated or damaged.
        """
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise ChainStoreCorrupted(f"{self.path} is damaged: {exc}") from exc
        if rows != [("ok",)]:
            problems = "; ".join(str(r[0]) for r in rows[:3])
            raise ChainStoreCorrupted(f"{self.path} failed its integrity check: {problems}")

    def __getitem__(self, key: bytes) -> bytes:
        with self._lock:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        with self._lock:
            if self._conn.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount == 0:
                raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        """Collect writes in memory and commit them in one SQLite transaction."""
        with self._lock, _SqliteWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    def write_diff(self, diff: DBDiff) -> None:
        """Apply a batch's changes atomically (a savepoint inside any open transaction)."""
        with self.transaction():
            conn = self._conn
            conn.executemany("DELETE FROM kv WHERE k = ?", ((k,) for k in diff.deleted_keys()))
            conn.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", diff.pending_items())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group every write inside into one durable commit (nestable, via savepoints).

        The embedded client wraps "apply a transaction and mine its block" in one of
        these, so a block costs one fsync and a crash leaves either all of it or none.
        """
        with self._lock:
            name = f"sp{self._depth}"
            self._conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                raise
            finally:
                self._depth -= 1
                self._conn.execute(f"RELEASE {name}")

    def get_meta(self, name: str) -> str | None:
        """Return a service-level metadata value stored next to the chain data."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        """Store a service-level metadata value (committed at once)."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close the connection."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()


class _SqliteWriteBatch(AtomicDBWriteBatch):
    """py-evm's in-memory write batch, committed through :meth:`SqliteAtomicDB.write_diff`."""

    def _commit(self) -> None:
        target = self._write_target_db
        assert isinstance(target, SqliteAtomicDB)
        target.write_diff(self._diff())

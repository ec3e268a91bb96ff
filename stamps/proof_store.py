"""Lots' stamp trees kept on the host's disk, shared by its workers, behind the memory cache.

A province's trees do not fit in a worker's bounded cache (factor 10: ~17 million anchored
stamps, ~1.1 GB packed), and rebuilding one costs four Keccak hashes a stamp (~5 ms for a
lot of 1,200 stamps). A tree written here once is read back by every worker of the host in
one file read. A file is named by the lot, the stamp count and the stamp root it gives, so
it never goes stale (stamps are never deleted; minting more is another count, a changed
stamp set another root). A file whose size or root does not match its name is ignored.
Only the lean path (:mod:`stamps.api_lean`) reads it: a file changed behind our back gives
a bundle that fails its own check, and the full path, which builds from the database,
answers then.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from flask import Flask

from chain.merkle import PackedTree

log = logging.getLogger(__name__)
_ROOT = re.compile(r"0x[0-9a-f]{64}")
TREE_STORE = "stamp_tree_store"

#: What picks out a stamp tree: the lot, how many of its stamps, the root they must give.
#: An anchored lot document names its tree by its ``stamp_count`` and ``stamp_root``.
TreeKey = tuple[int, int, str | None]


def tree_store(app: Flask) -> TreeStore | None:
    """The host's stored stamp trees: ``PROOF_TREE_STORE`` (a folder; default
    ``<instance>/proof-trees``), or None when it is set empty."""
    if TREE_STORE not in app.extensions:
        folder = app.config["PROOF_TREE_STORE"]
        if folder is None:
            folder = Path(app.instance_path) / "proof-trees"
        app.extensions[TREE_STORE] = TreeStore(Path(folder)) if folder else None
    return app.extensions[TREE_STORE]  # type: ignore[no-any-return]


def key_of(lot_id: int, tree: PackedTree) -> TreeKey:
    """The key a proof asks for ``tree`` under, once a lot document counts its stamps:
    the document's ``stamp_count`` and ``stamp_root`` are the tree's size and root."""
    return (lot_id, len(tree), f"0x{tree.root.hex()}")


class TreeStore:
    """Packed stamp trees as files in one folder (``<lot>-<count>-<root>.tree``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: TreeKey) -> PackedTree | None:
        """The stored tree for ``key``, or None (none stored, or not the tree it names)."""
        path = self._path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        _lot, count, root = key
        if len(data) != 32 * (2 * count - 1) or f"0x{data[:32].hex()}" != root:
            return None
        return PackedTree(data, count)

    def holds(self, key: TreeKey) -> bool:
        """Whether a tree of the right size is stored for ``key`` (its root not read)."""
        path = self._path(key)
        try:
            return path is not None and path.stat().st_size == 32 * (2 * key[1] - 1)
        except OSError:
            return False

    def put(self, key: TreeKey, tree: PackedTree) -> None:
        """Keep ``tree`` (which gives ``key``'s root) for every worker of this host.

        Written to a temporary file and renamed, so a reader sees the whole tree or none.
        A disk that refuses the write costs only the rebuild next time: logged, not raised.
        """
        path = self._path(key)
        if path is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(bytes(tree))
                os.replace(temporary, path)
            finally:
                Path(temporary).unlink(missing_ok=True)
        except OSError:
            log.warning("stamp tree %s not stored in %s", key, self.folder, exc_info=True)

    def _path(self, key: TreeKey) -> Path | None:
        lot_id, count, root = key
        if root is None or not _ROOT.fullmatch(root) or count <= 0:
            return None
        return self.folder / f"{int(lot_id)}-{int(count)}-{root[2:]}.tree"

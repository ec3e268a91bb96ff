"""Durable record of where the anchor contract lives on a chain (a small JSON file)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from chain.errors import ChainStoreCorrupted


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """The contract's address, written *before* the deployment is sent (``confirmed``
    False) so a crash between send and record never loses or duplicates a deployment."""

    address: str
    chain_id: int
    genesis_hash: str
    owner: str
    nonce: int
    confirmed: bool = False

    def confirm(self) -> DeploymentRecord:
        """Return this record marked as deployed and checked on chain."""
        return replace(self, confirmed=True)


class DeploymentStore:
    """Reads and atomically rewrites one deployment record file."""

    def __init__(self, path: Path | Callable[[], Path]) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The record file (resolved on each use: its name may depend on the chain id)."""
        return self._path() if callable(self._path) else self._path

    def load(self) -> DeploymentRecord | None:
        """Return the record, None when the file does not exist.

        Raises:
            ChainStoreCorrupted: the file exists but is not a valid record.
        """
        try:
            data = json.loads(self.path.read_text())
            return DeploymentRecord(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise ChainStoreCorrupted(
                f"deployment record {self.path} is unreadable ({exc}); restore it from a "
                "backup, or delete it to deploy a new anchor contract"
            ) from exc

    def save(self, record: DeploymentRecord) -> None:
        """Write the record durably (temporary file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(asdict(record), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

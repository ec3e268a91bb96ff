"""Fast keccak256 for hashing leaves and documents (no web3 import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class _Digest(Protocol):
    def digest(self) -> bytes: ...


_Hasher = Callable[[bytes], _Digest]


def _pick_backend() -> tuple[str, Callable[[bytes], bytes]]:
    try:
        from sha3 import keccak_256  # safe-pysha3: ~10x faster than pycryptodome
    except ImportError:  # pragma: no cover - exercised only without safe-pysha3
        from eth_hash.auto import keccak as eth_keccak

        return "eth_hash", eth_keccak

    def _keccak(data: bytes) -> bytes:
        digest: bytes = keccak_256(data).digest()  # safe-pysha3 ships no type hints
        return digest

    return "safe-pysha3", _keccak


BACKEND, keccak256 = _pick_backend()
"""``keccak256(data) -> 32 bytes``: Ethereum's Keccak-256 (not NIST SHA3-256)."""


def keccak_factory() -> _Hasher:
    """Return the raw hasher constructor for hot loops (``f(data).digest()``).

    Returns:
        ``sha3.keccak_256`` when safe-pysha3 is installed, else an object with the same
        ``f(data).digest()`` shape built on eth_hash.
    """
    try:
        from sha3 import keccak_256
    except ImportError:  # pragma: no cover
        return _DigestShim
    factory: _Hasher = keccak_256  # safe-pysha3 ships no type hints
    return factory


class _DigestShim:
    """Adapter giving eth_hash the ``keccak_256(data).digest()`` call shape."""

    __slots__ = ("_digest",)

    def __init__(self, data: bytes) -> None:
        self._digest = keccak256(data)

    def digest(self) -> bytes:
        return self._digest

"""RFC 8785 (JCS) canonical JSON bytes for documents, and the document hash anchored on chain."""

from __future__ import annotations

from typing import Any

import rfc8785

from chain.errors import CanonicalizationError
from chain.hashing import keccak256


def canonical_json(doc: Any) -> bytes:
    """Serialize a JSON value in RFC 8785 canonical form.

    Args:
        doc: a JSON-compatible value (dict, list, str, int, float, bool, None).

    Returns:
        The canonical UTF-8 bytes (sorted keys, no whitespace, ECMAScript number form).

    Raises:
        CanonicalizationError: the value has no canonical JSON form (a non-finite float,
            an integer outside IEEE-754's exact range ±(2**53 - 1), a non-string key,
            an unsupported type).
    """
    try:
        return rfc8785.dumps(doc)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"document has no canonical JSON form: {exc}") from exc


def document_hash(doc: Any) -> bytes:
    """Hash a document the way it is anchored: ``keccak256(canonical_json(doc))``.

    The hash is Ethereum's Keccak-256 (not NIST SHA3-256) over the RFC 8785 bytes, so
    anyone can recompute it with a stock JCS library and any keccak implementation.

    Args:
        doc: a JSON-compatible value, normally the lot document (a dict).

    Returns:
        32 bytes, usable directly as a leaf value of a round tree.

    Raises:
        CanonicalizationError: see :func:`canonical_json`.
    """
    return keccak256(canonical_json(doc))

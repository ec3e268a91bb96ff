"""The one exception hierarchy of the chain package: every failure it raises is a ChainError."""

from __future__ import annotations


class ChainError(Exception):
    """Base class of every error raised by the ``chain`` package."""


class InvalidLeaf(ChainError, ValueError):
    """A leaf value is not exactly 32 bytes, or a tree was asked for with no leaves."""


class CanonicalizationError(ChainError, ValueError):
    """A document cannot be put in RFC 8785 canonical form (e.g. a float NaN, a huge int)."""


class InvalidProof(ChainError):
    """A Merkle proof or a proof bundle does not check out."""


class BundleFormatError(ChainError, ValueError):
    """A proof bundle is malformed: not JSON, wrong version, or a field is missing/invalid."""


class ChainUnavailable(ChainError):
    """The chain cannot be reached (node down, timeout) or the embedded store cannot be used."""


class ChainStoreCorrupted(ChainUnavailable):
    """The embedded chain's on-disk store is missing, truncated or inconsistent."""


class TransactionFailed(ChainError):
    """A transaction was rejected by the node or reverted on chain."""


class ContractNotDeployed(ChainError):
    """The anchor contract is not (or no longer) present at the recorded address."""


class ConfirmationTimeout(ChainUnavailable):
    """A transaction did not reach the requested confirmations in time."""


class ChainBusy(ChainUnavailable):
    """The chain stayed busy with other work longer than the caller agreed to wait."""


class CallTimedOut(ChainError):
    """A read-only call ran longer than its wall-clock bound and was stopped."""

"""The ChainClient port: what the service needs from a chain, and the factory picking one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from chain.errors import ChainError


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    """Where and when a root was anchored.

    ``tx_hash`` and ``contract_address`` are 0x-hex strings (the address lowercase);
    ``root`` is the 32-byte Merkle root.
    """

    root: bytes
    leaf_count: int
    tx_hash: str
    block_number: int
    block_timestamp: int
    gas_used: int
    chain_id: int
    contract_address: str


def check_root(root: bytes, leaf_count: int) -> None:
    """Reject what the contract would revert on, before spending a transaction.

    Raises:
        ChainError: ``root`` is not 32 non-zero bytes or ``leaf_count`` is out of range.
    """
    if len(root) != 32 or root == bytes(32):
        raise ChainError("a root must be 32 bytes and not all zero")
    if not 1 <= leaf_count < 2**128:
        raise ChainError(f"leaf count must be between 1 and 2**128 - 1, got {leaf_count}")


class ChainClient(ABC):
    """A chain the service can anchor Merkle roots on.

    Implementations: :class:`chain.embedded.EmbeddedChainClient` (py-evm in-process,
    persisted), :class:`chain.rpc.RpcChainClient` (any JSON-RPC node) and
    :class:`chain.testing.FakeChainClient` (in memory, for unit tests).
    Every failure is raised as a :class:`chain.errors.ChainError` subclass.
    """

    #: True for the in-process chain, which the service can expose read-only at /chain/rpc.
    embedded: bool = False

    @property
    @abstractmethod
    def chain_id(self) -> int:
        """The EIP-155 chain id. Raises ChainUnavailable when the chain is unreachable."""

    @property
    @abstractmethod
    def contract_address(self) -> str | None:
        """The anchor contract's address (0x, lowercase), None before deployment."""

    @abstractmethod
    def deploy_if_needed(self) -> str:
        """Deploy the anchor contract unless a live deployment by this key is recorded.

        Returns:
            The contract address.

        Raises:
            ChainUnavailable: the chain cannot be reached.
            TransactionFailed: the deployment transaction failed.
        """

    @abstractmethod
    def anchor(self, root: bytes, leaf_count: int) -> AnchorReceipt:
        """Anchor ``root`` (idempotent: an anchored root returns its original receipt).

        Args:
            root: 32-byte Merkle root, not all zero.
            leaf_count: number of leaves of the tree, at least 1.

        Returns:
            The receipt of the transaction that anchored ``root`` (the earlier one when
            the root was already anchored).

        Raises:
            ChainUnavailable: the chain cannot be reached.
            TransactionFailed: the transaction was rejected or reverted.
        """

    @abstractmethod
    def anchored_at(self, root: bytes) -> int | None:
        """Return the block timestamp of ``root``'s anchor, None if never anchored."""

    @abstractmethod
    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        """Look up the ``Anchored`` event of ``root`` (crash recovery), None if absent."""

    @abstractmethod
    def wait_for_confirmations(self, tx_hash: str, n: int = 1, timeout: float = 120.0) -> int:
        """Block until ``tx_hash`` is mined and ``n`` blocks deep (its own block counts 1).

        Returns:
            The block number holding the transaction.

        Raises:
            ConfirmationTimeout: not confirmed within ``timeout`` seconds.
            TransactionFailed: the transaction reverted or was dropped.
        """

    @abstractmethod
    def verify_on_chain(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        """Ask the contract's ``verify``; ``leaf`` is the leaf HASH (see chain.merkle)."""

    @abstractmethod
    def is_available(self) -> bool:
        """True when the chain answers and the contract (if recorded) is in place."""

    def close(self) -> None:  # noqa: B027 - optional hook, most clients hold nothing
        """Release files, locks and connections held by the client."""


def client_from_config(chain_url: str, private_key: str | None, data_dir: str) -> ChainClient:
    """Build the configured client without touching the chain yet.

    Args:
        chain_url: ``"embedded"`` or an ``http(s)://`` JSON-RPC URL.
        private_key: hex service key for JSON-RPC (``CHAIN_PRIVATE_KEY``); the embedded
            chain keeps its own key in ``data_dir`` and ignores this.
        data_dir: directory for the embedded chain store, and for the record of the
            contract deployed on a JSON-RPC chain (normally ``instance/chain``).

    Raises:
        ChainError: unknown URL scheme, or a JSON-RPC URL without a private key.
    """
    if chain_url == "embedded":
        from chain.embedded import EmbeddedChainClient

        return EmbeddedChainClient(data_dir)
    if chain_url.startswith(("http://", "https://")):
        if not private_key:
            raise ChainError("CHAIN_PRIVATE_KEY is required when CHAIN_URL is a JSON-RPC URL")
        from chain.rpc import RpcChainClient

        return RpcChainClient(chain_url, private_key, data_dir)
    raise ChainError(f"CHAIN_URL must be 'embedded' or an http(s):// URL, got {chain_url!r}")

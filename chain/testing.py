"""FakeChainClient: an in-memory ChainClient for unit tests of code that anchors."""

from __future__ import annotations

from collections.abc import Sequence

from chain.client import AnchorReceipt, ChainClient, check_root
from chain.errors import ChainError, ChainUnavailable, ContractNotDeployed, TransactionFailed
from chain.hashing import keccak256
from chain.merkle import process_proof

FAKE_CHAIN_ID = 1337
FAKE_CONTRACT = "0x" + "a7" * 20


class FakeChainClient(ChainClient):
    """Behaves like the real clients, without an EVM.

    Anchors live in a dict; every anchor() that changes state "mines" one block whose
    timestamp is ``start_time + block number``. Knobs for tests:

    * ``available = False`` makes every call raise ChainUnavailable;
    * ``fail_next(n, error)`` makes the next ``n`` anchor() calls raise ``error``;
    * ``lose_receipts(n)`` makes the next ``n`` anchor() calls record the anchor on
      "chain" and then raise ChainUnavailable, like a crash between send and receipt.
    """

    def __init__(self, chain_id: int = FAKE_CHAIN_ID, start_time: int = 1_700_000_000) -> None:
        self._chain_id = chain_id
        self._start = start_time
        self._address: str | None = None
        self._anchors: dict[bytes, AnchorReceipt] = {}
        self.block_number = 0
        self.available = True
        self.sent: list[bytes] = []
        self._failures: list[ChainError] = []
        self._lost = 0

    @property
    def chain_id(self) -> int:
        self._check()
        return self._chain_id

    @property
    def contract_address(self) -> str | None:
        return self._address

    def deploy_if_needed(self) -> str:
        self._check()
        if self._address is None:
            self._mine()
            self._address = FAKE_CONTRACT
        return self._address

    def fail_next(self, n: int, error: ChainError | None = None) -> None:
        """Make the next ``n`` anchor() calls raise ``error`` (default ChainUnavailable)."""
        self._failures.extend([error or ChainUnavailable("fake chain: injected failure")] * n)

    def lose_receipts(self, n: int) -> None:
        """Anchor on chain but raise ChainUnavailable, for the next ``n`` anchor() calls."""
        self._lost += n

    def anchor(self, root: bytes, leaf_count: int) -> AnchorReceipt:
        self._check()
        check_root(root, leaf_count)
        if self._address is None:
            raise ContractNotDeployed("fake chain: call deploy_if_needed() first")
        if self._failures:
            raise self._failures.pop(0)
        if root not in self._anchors:
            self.sent.append(root)
            self._anchors[root] = self._record(root, leaf_count)
        if self._lost:
            self._lost -= 1
            raise ChainUnavailable("fake chain: connection lost after sending")
        return self._anchors[root]

    def _record(self, root: bytes, leaf_count: int) -> AnchorReceipt:
        number = self._mine()
        return AnchorReceipt(
            root=root,
            leaf_count=leaf_count,
            tx_hash="0x" + keccak256(b"fake-tx" + root).hex(),
            block_number=number,
            block_timestamp=self._start + number,
            gas_used=46_000,
            chain_id=self._chain_id,
            contract_address=FAKE_CONTRACT,
        )

    def anchored_at(self, root: bytes) -> int | None:
        found = self.find_anchor(root)
        return found.block_timestamp if found else None

    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        self._check()
        return self._anchors.get(root)

    def wait_for_confirmations(self, tx_hash: str, n: int = 1, timeout: float = 120.0) -> int:
        self._check()
        for receipt in self._anchors.values():
            if receipt.tx_hash == tx_hash:
                while self.block_number - receipt.block_number + 1 < n:
                    self._mine()  # the fake chain never makes a caller wait
                return receipt.block_number
        raise TransactionFailed(f"fake chain: unknown transaction {tx_hash}")

    def verify_on_chain(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        self._check()
        return process_proof(leaf, proof) == root

    def is_available(self) -> bool:
        return self.available

    def _mine(self) -> int:
        self.block_number += 1
        return self.block_number

    def _check(self) -> None:
        if not self.available:
            raise ChainUnavailable("fake chain: marked unavailable")

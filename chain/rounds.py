"""One anchoring round over opaque leaves: plan (pure), anchor once, prove, retry policy.

Crash-safe sequence for a caller that keeps its own bookkeeping (trace/ does):

1. ``plan = plan_round(leaves)`` and persist ``plan.root`` as "about to be sent";
2. ``result = anchor_round(client, plan)`` (or :func:`anchor_with_retry`);
3. persist ``result.receipt`` and ``result.proofs``.

After a crash anywhere, rebuilding the same plan and calling step 2 again is safe:
:func:`anchor_round` first looks the root up on chain and returns the earlier anchor
instead of sending a second transaction (and the contract ignores a repeated root).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chain.client import AnchorReceipt, ChainClient
from chain.errors import ChainStoreCorrupted, ChainUnavailable
from chain.merkle import MerkleTree


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """The tree of one round, built before anything is sent."""

    tree: MerkleTree

    @property
    def root(self) -> bytes:
        """The 32-byte root that will be anchored."""
        return self.tree.root

    @property
    def leaf_count(self) -> int:
        """Number of leaves (the caller's values, duplicates included)."""
        return len(self.tree)

    @property
    def leaves(self) -> tuple[bytes, ...]:
        """The leaf values in the caller's order."""
        return self.tree.values


@dataclass(frozen=True, slots=True)
class RoundResult:
    """An anchored round: the receipt and one proof per leaf, in the caller's order."""

    plan: RoundPlan
    receipt: AnchorReceipt
    proofs: list[list[bytes]]
    #: False when the root was found already anchored (recovery): no transaction was sent.
    sent: bool


def plan_round(leaves: Sequence[bytes]) -> RoundPlan:
    """Build the round tree over 32-byte leaf values (e.g. lot document hashes).

    Raises:
        InvalidLeaf: no leaves, or a leaf that is not 32 bytes.
    """
    return RoundPlan(MerkleTree.of(leaves))


def anchor_round(
    client: ChainClient, plan: RoundPlan, confirmations: int = 1, timeout: float = 120.0
) -> RoundResult:
    """Anchor a planned round with at most one transaction, then wait for confirmations.

    Args:
        client: the chain.
        plan: from :func:`plan_round`; the caller should have persisted ``plan.root``.
            The anchor contract is deployed first if the client has none recorded.
        confirmations: blocks deep the transaction must be (1 = mined). The embedded
            chain and anvil mine only on demand, so keep 1 there.
        timeout: seconds to wait for the confirmations.

    Returns:
        The receipt (the earlier one if the root was already anchored) and the proofs.

    Raises:
        ChainUnavailable: the chain could not be reached (retryable).
        TransactionFailed: the transaction was rejected or reverted.
    """
    if client.contract_address is None:
        client.deploy_if_needed()
    existing = client.find_anchor(plan.root)
    receipt = existing or client.anchor(plan.root, plan.leaf_count)
    client.wait_for_confirmations(receipt.tx_hash, confirmations, timeout)
    return RoundResult(plan, receipt, plan.tree.proofs(), sent=existing is None)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for anchoring: which failures to retry and how long to wait."""

    attempts: int = 5
    base_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * self.factor ** (attempt - 1)))

    def should_retry(self, error: Exception, attempt: int) -> bool:
        """Retry transient chain outages, never a rejected transaction or a broken store.

        Args:
            error: what the failed attempt raised.
            attempt: the number of the attempt that failed (1-based).
        """
        transient = isinstance(error, ChainUnavailable)
        return transient and not isinstance(error, ChainStoreCorrupted) and attempt < self.attempts


def anchor_with_retry(
    client: ChainClient,
    plan: RoundPlan,
    policy: RetryPolicy | None = None,
    confirmations: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> RoundResult:
    """Run :func:`anchor_round` under ``policy``; each retry re-checks the chain first.

    Raises:
        ChainError: the last failure, once the policy gives up or the error is permanent.
    """
    policy = policy or RetryPolicy()
    attempt = 1
    while True:
        try:
            return anchor_round(client, plan, confirmations)
        except ChainUnavailable as exc:
            if not policy.should_retry(exc, attempt):
                raise
            sleep(policy.delay(attempt))
            attempt += 1

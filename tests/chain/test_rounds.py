"""Anchoring rounds: one transaction per root, crash-safe retries, a pure backoff policy."""

from __future__ import annotations

import pytest

from chain.errors import ChainStoreCorrupted, ChainUnavailable, TransactionFailed
from chain.merkle import leaf_value_for, verify
from chain.rounds import RetryPolicy, anchor_round, anchor_with_retry, plan_round
from chain.testing import FakeChainClient


@pytest.fixture
def fake() -> FakeChainClient:
    client = FakeChainClient()
    client.deploy_if_needed()
    return client


LEAVES = [leaf_value_for(f"lot-{i}") for i in range(7)]


def test_plan_is_pure_and_names_the_root_before_sending(fake: FakeChainClient) -> None:
    plan = plan_round(LEAVES)
    assert plan.root == plan_round(LEAVES).root
    assert plan.leaf_count == 7 and plan.leaves == tuple(LEAVES)
    assert fake.sent == []


def test_round_sends_one_transaction_and_returns_a_proof_per_leaf(fake: FakeChainClient) -> None:
    result = anchor_round(fake, plan_round(LEAVES))
    assert fake.sent == [result.plan.root]
    assert result.sent and result.receipt.leaf_count == 7
    assert all(
        verify(result.receipt.root, v, p) for v, p in zip(LEAVES, result.proofs, strict=True)
    )


def test_rerunning_an_anchored_round_sends_nothing(fake: FakeChainClient) -> None:
    first = anchor_round(fake, plan_round(LEAVES))
    second = anchor_round(fake, plan_round(LEAVES))
    assert fake.sent == [first.plan.root]
    assert not second.sent and second.receipt == first.receipt


def test_crash_between_send_and_receipt_is_recovered_without_a_second_anchor(
    fake: FakeChainClient,
) -> None:
    fake.lose_receipts(1)
    slept: list[float] = []
    result = anchor_with_retry(fake, plan_round(LEAVES), RetryPolicy(), sleep=slept.append)
    assert fake.sent == [result.plan.root]
    assert not result.sent  # the retry found the anchor instead of sending again
    assert slept == [2.0]


def test_outage_is_retried_with_backoff_then_succeeds(fake: FakeChainClient) -> None:
    fake.fail_next(3)
    slept: list[float] = []
    result = anchor_with_retry(
        fake, plan_round(LEAVES), RetryPolicy(base_delay=1), sleep=slept.append
    )
    assert result.sent and slept == [1.0, 2.0, 4.0]


def test_retry_gives_up_after_the_last_attempt(fake: FakeChainClient) -> None:
    fake.fail_next(10)
    slept: list[float] = []
    with pytest.raises(ChainUnavailable):
        anchor_with_retry(fake, plan_round(LEAVES), RetryPolicy(attempts=3), sleep=slept.append)
    assert len(slept) == 2 and fake.sent == []


@pytest.mark.parametrize(
    "error", [TransactionFailed("reverted"), ChainStoreCorrupted("store truncated")]
)
def test_permanent_failures_are_not_retried(fake: FakeChainClient, error: Exception) -> None:
    fake.fail_next(1, error)  # type: ignore[arg-type]
    slept: list[float] = []
    with pytest.raises(type(error)):
        anchor_with_retry(fake, plan_round(LEAVES), sleep=slept.append)
    assert slept == []


def test_backoff_grows_geometrically_and_is_capped() -> None:
    policy = RetryPolicy(attempts=10, base_delay=2, factor=3, max_delay=100)
    assert [policy.delay(n) for n in range(1, 6)] == [2, 6, 18, 54, 100]
    assert policy.should_retry(ChainUnavailable("down"), 9)
    assert not policy.should_retry(ChainUnavailable("down"), 10)


def test_fake_client_waits_for_confirmations_by_mining(fake: FakeChainClient) -> None:
    receipt = fake.anchor(LEAVES[0], 1)
    assert fake.wait_for_confirmations(receipt.tx_hash, 3) == receipt.block_number
    assert fake.block_number == receipt.block_number + 2
    with pytest.raises(TransactionFailed):
        fake.wait_for_confirmations("0x" + "00" * 32)
    fake.available = False
    with pytest.raises(ChainUnavailable):
        fake.find_anchor(LEAVES[0])

"""The sync worker under failure: Retry-After, ambiguous writes, the dead-letter list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from marketplace.adapters import PostmartAdapter
from marketplace.models import ListingState, ListingSync
from marketplace.services import retry_listing
from tests.marketplace.conftest import SandboxAdmin, gtin, offer, remote
from tests.registry_fixtures import Farm
from trace.models import Job
from trace.models.base import utcnow


def only_row(session: Session) -> ListingSync:
    row = session.exec(select(ListingSync)).one()
    session.refresh(row)
    return row


def sync_jobs(session: Session) -> list[Job]:
    jobs = session.exec(select(Job).where(Job.kind == "marketplace.sync_listing")).all()
    for job in jobs:
        session.refresh(job)
    return list(jobs)


def test_a_rate_limited_sync_waits_as_long_as_retry_after_says(
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    postmart: PostmartAdapter,
) -> None:
    work()  # the lot's own sync job, queued when the farm was set up
    postmart_admin.configure(rate_limit={"capacity": 1, "per_second": 0.2})
    assert list(postmart.list_listings()) == []  # the shop's one request for 5 s
    offer(session, farm_a, on=["postmart"])
    before = utcnow()
    assert work(wait=True) == 1  # the create gets 429 Retry-After: 5
    after = utcnow()
    [job] = sync_jobs(session)
    # Retried 5 s after the refusal, which came between ``before`` and ``after``: bounds
    # that hold however slowly a busy machine runs the worker.
    retry = timedelta(seconds=5)
    assert job.status == "queued"
    assert before + retry - timedelta(seconds=1) <= job.run_after <= after + retry
    row = only_row(session)
    assert row.state == ListingState.SYNCING and row.attempts == 0  # not counted as a failure
    assert row.last_error is not None and "429" in row.last_error
    postmart_admin.unlimited()
    work()
    assert only_row(session).state == ListingState.LISTED
    assert len(remote(postmart_admin, gtin(session, farm_a))) == 1


@pytest.mark.parametrize("fault", ["timeout_after_commit", "drop_after_commit"])
@pytest.mark.parametrize("name", ["postmart", "voso"])
def test_a_create_that_timed_out_after_committing_is_found_not_repeated(
    request: pytest.FixtureRequest,
    session: Session,
    farm_a: Farm,
    work: Callable[..., int],
    name: str,
    fault: str,
) -> None:
    admin: SandboxAdmin = request.getfixturevalue(f"{name}_admin")
    path = "/api/v1/listings" if name == "postmart" else "/api/v2/items"
    admin.fail_next(fault, method="POST", path=path)
    offer(session, farm_a, on=[name])
    work()
    [listing] = remote(admin, gtin(session, farm_a))
    row = only_row(session)
    assert row.state == ListingState.LISTED
    assert row.external_id is not None and row.external_id.endswith(str(listing["id"]))


def test_after_the_last_attempt_a_listing_goes_to_the_dead_letter_list_then_a_retry_lists_it(
    session: Session, farm_a: Farm, work: Callable[..., int], voso_admin: SandboxAdmin
) -> None:
    work()  # the lot's own sync job, queued when the farm was set up
    voso_admin.fail_next("5xx", "5xx", "5xx", path="/api/")
    offer(session, farm_a, on=["voso"])
    work()
    row = only_row(session)
    assert (row.state, row.attempts) == (ListingState.FAILED, 3)
    assert row.last_error is not None and "500" in row.last_error
    assert {job.status for job in sync_jobs(session)} == {"done"}  # given up, not looping
    assert remote(voso_admin, gtin(session, farm_a)) == []
    retry_listing(session, farm_a.actor, row.id)  # type: ignore[arg-type]
    work()
    row = only_row(session)
    assert (row.state, row.attempts, row.last_error) == (ListingState.LISTED, 0, None)
    assert len(remote(voso_admin, gtin(session, farm_a))) == 1


@pytest.fixture
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Three attempts before the dead-letter list; a revoked key for the test that asks."""
    changes: dict[str, Any] = {"MARKETPLACE_MAX_ATTEMPTS": 3}
    if "revoked" in request.node.name:
        changes["POSTMART_API_KEY"] = "revoked-key"
    return app_config | changes


def test_a_revoked_key_goes_to_the_dead_letter_list_at_once(
    session: Session, farm_a: Farm, work: Callable[..., int], postmart_admin: SandboxAdmin
) -> None:
    """Retrying cannot fix a refused key: no attempts are wasted on it."""
    work()  # the lot's own sync job, queued when the farm was set up
    offer(session, farm_a, on=["postmart"])
    assert work() == 1
    row = only_row(session)
    assert (row.state, row.attempts) == (ListingState.FAILED, 1)
    assert row.last_error is not None and "401" in row.last_error
    assert postmart_admin.listings() == []


def test_a_listing_deleted_on_the_marketplace_is_listed_again(
    session: Session, farm_a: Farm, work: Callable[..., int], postmart_admin: SandboxAdmin
) -> None:
    offer(session, farm_a, on=["postmart"])
    work()
    postmart_admin.reset()  # the marketplace lost the listing
    offer(session, farm_a, price="36000", on=["postmart"])
    work()
    [listing] = remote(postmart_admin, gtin(session, farm_a))
    assert (listing["status"], listing["doc"]["gia_ban"]) == ("dang_ban", 36000)
    assert only_row(session).external_id == f"PM{listing['id']:08d}"


def test_a_new_listing_is_created_with_one_call(
    session: Session, farm_a: Farm, work: Callable[..., int], postmart_admin: SandboxAdmin
) -> None:
    """The first try cannot find an earlier create of ours: no look-up by SKU before it."""
    work()  # the lot's own sync job, queued when the farm was set up
    offer(session, farm_a, on=["postmart"])
    work()
    assert postmart_admin.stats()["requests"] == 1
    assert (only_row(session).state, only_row(session).create_tries) == (ListingState.LISTED, 1)
    assert len(remote(postmart_admin, gtin(session, farm_a))) == 1


def test_after_a_failed_create_the_next_try_looks_the_sku_up_first(
    session: Session, farm_a: Farm, work: Callable[..., int], postmart_admin: SandboxAdmin
) -> None:
    work()  # the lot's own sync job, queued when the farm was set up
    postmart_admin.fail_next("5xx", method="POST", path="/api/v1/listings")
    offer(session, farm_a, on=["postmart"])
    work()
    # Try 1: the create (refused). Try 2: the look-up by SKU, then the create.
    assert postmart_admin.stats()["requests"] == 3
    assert (only_row(session).state, only_row(session).create_tries) == (ListingState.LISTED, 2)
    assert len(remote(postmart_admin, gtin(session, farm_a))) == 1

"""The demo a new user sees: two farms' first products listed on both sandboxes at once."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from marketplace.models import ListingState, ListingSync
from marketplace.serving import seed_demo_listings
from tests.conftest import FAST_HASH
from tests.marketplace.conftest import BOTH, SandboxAdmin
from trace.seed import seed_demo


def test_the_demo_lists_two_products_on_both_sandboxes_once(
    session: Session,
    work: Callable[..., int],
    postmart_admin: SandboxAdmin,
    voso_admin: SandboxAdmin,
) -> None:
    seed_demo(session, FAST_HASH)
    assert seed_demo_listings(session, BOTH) == 2
    assert seed_demo_listings(session, BOTH) == 0  # a second start lists nothing again
    work()
    rows = session.exec(select(ListingSync)).all()
    assert len(rows) == 4
    for row in rows:
        session.refresh(row)
    assert {row.state for row in rows} == {ListingState.LISTED}
    for admin in (postmart_admin, voso_admin):
        shown = admin.listings()
        assert len({item["sku"] for item in shown}) == len(shown) == 2

"""The marketplace chart for the province dashboard: listings by sync state.

Registered by the composition root (``trace`` may not import ``marketplace``).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from marketplace.models import ListingState, ListingSync
from trace.dashboard.charts import Chart, ChartData
from trace.dashboard.filters import Filters
from trace.i18n import _l

STATE_LABELS = {
    ListingState.LISTED: _l("Listed"),
    ListingState.SYNCING: _l("Syncing"),
    ListingState.DRAFT: _l("Draft"),
    ListingState.FAILED: _l("Failed"),
    ListingState.DELISTED: _l("Delisted"),
}


def listings_by_state(session: Session, filters: Filters) -> ChartData:
    """Listings on each marketplace, by their current sync state."""
    marketplaces = select(ListingSync.marketplace).group_by(ListingSync.marketplace)
    names = sorted(session.exec(marketplaces).all())
    statement = select(ListingSync.state, ListingSync.marketplace, func.count()).group_by(
        ListingSync.state, ListingSync.marketplace
    )
    statement = filters.restrict_products(statement, col(ListingSync.product_id))
    data = ChartData(
        "state",
        [str(state) for state in STATE_LABELS],
        [(name, name) for name in names],
        x_labels={str(state): label for state, label in STATE_LABELS.items()},
    )
    return data.fill(session.exec(statement).all())


CHARTS = (
    Chart(
        "listings-by-state",
        _l("Marketplace listings by state"),
        "bars",
        listings_by_state,
        50,
        _l("Every product listing on each marketplace, as of now."),
        uses_period=False,
    ),
)

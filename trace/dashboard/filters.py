"""The dashboard's filters (district, product category, period) and how queries apply them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import exists
from sqlmodel import Session, col, select

from trace.dashboard.charts import LOCAL_OFFSET_HOURS
from trace.dashboard.districts import BY_KEY, district_key
from trace.db import AnySelect
from trace.models import Lot, Producer, Product
from trace.services.holdings import PRODUCT_CATEGORIES

PERIODS = (3, 6, 12, 24)
DEFAULT_PERIOD = 12
LOCAL = timedelta(hours=LOCAL_OFFSET_HOURS)


@dataclass(frozen=True)
class Filters:
    """What the charts are narrowed to; ``None`` means everything.

    :param district_names: the registered spellings of ``district`` (filled by ``resolve``).
    :param now: an aware UTC time; months and "next 90 days" count from it.
    """

    district: str | None
    category: str | None
    months: int
    now: datetime
    district_names: tuple[str, ...] = ()

    @property
    def today(self) -> date:
        return (self.now + LOCAL).date()

    @property
    def month_keys(self) -> list[str]:
        """``YYYY-MM`` of each month in the period, oldest first, ending with this month."""
        year, month = self.today.year, self.today.month
        keys = []
        for back in range(self.months - 1, -1, -1):
            y, m = divmod(year * 12 + month - 1 - back, 12)
            keys.append(f"{y:04d}-{m + 1:02d}")
        return keys

    @property
    def since(self) -> datetime:
        """The start of the period's first month (Vietnam time) as an aware UTC time."""
        first = date.fromisoformat(self.month_keys[0] + "-01")
        return datetime(first.year, first.month, 1, tzinfo=UTC) - LOCAL

    def month_bounds(self) -> list[tuple[str, datetime, datetime]]:
        """Each month of the period with its start and end (exclusive) as aware UTC times."""
        starts = [
            datetime.fromisoformat(key + "-01").replace(tzinfo=UTC) - LOCAL
            for key in self.month_keys
        ]
        ends = [*starts[1:], self.now + timedelta(days=1)]
        return list(zip(self.month_keys, starts, ends, strict=True))

    @property
    def narrowed(self) -> bool:
        return self.district is not None or self.category is not None

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (for links to the CSV files)."""
        args = {"period": str(self.months)}
        if self.district:
            args["district"] = self.district
        if self.category:
            args["category"] = self.category
        return args

    def restrict_producers(self, statement: AnySelect, producer_id: Any) -> AnySelect:
        """Keep rows of producers in the district that sell products of the category."""
        if self.district is not None:
            matching = select(Producer.id).where(col(Producer.district).in_(self.district_names))
            statement = statement.where(producer_id.in_(matching))
        if self.category is not None:
            sells = exists().where(
                col(Product.producer_id) == producer_id, col(Product.category) == self.category
            )
            statement = statement.where(sells)
        return statement

    def restrict_products(self, statement: AnySelect, product_id: Any) -> AnySelect:
        """Keep rows of products of the category whose producer is in the district."""
        if not self.narrowed:
            return statement
        products = select(Product.id)
        if self.category is not None:
            products = products.where(Product.category == self.category)
        if self.district is not None:
            products = products.join(Producer, col(Producer.id) == Product.producer_id).where(
                col(Producer.district).in_(self.district_names)
            )
        return statement.where(product_id.in_(products))

    def restrict_lots(self, statement: AnySelect, lot_id: Any) -> AnySelect:
        """Keep rows of lots of the category's products from producers in the district."""
        if not self.narrowed:
            return statement
        lots = self.restrict_products(select(Lot.id), Lot.product_id)
        return statement.where(lot_id.in_(lots))


def parse_filters(args: Mapping[str, str], now: datetime | None = None) -> Filters:
    """Filters from query arguments; unknown values fall back to "everything"."""
    district = args.get("district") or None
    category = args.get("category") or None
    period = args.get("period", "")
    months = int(period) if period.isdigit() and int(period) in PERIODS else DEFAULT_PERIOD
    return Filters(
        district=district if district in BY_KEY else None,
        category=category if category in PRODUCT_CATEGORIES else None,
        months=months,
        now=now or datetime.now(UTC),
    )


def resolve(session: Session, filters: Filters) -> Filters:
    """Fill in how producers actually spelled the chosen district (one GROUP BY)."""
    if filters.district is None:
        return filters
    return Filters(
        filters.district,
        filters.category,
        filters.months,
        filters.now,
        tuple(
            name for name in registered_districts(session) if district_key(name) == filters.district
        ),
    )


def registered_districts(session: Session) -> list[str]:
    """Every distinct district name producers registered."""
    statement = select(Producer.district).group_by(Producer.district)
    return list(session.exec(statement).all())

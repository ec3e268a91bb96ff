"""The marketplace tables: each product's listing on each marketplace, and its sync state."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import UniqueConstraint, text
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class ListingState(enum.StrEnum):
    DRAFT = "draft"  # saved, never sent
    SYNCING = "syncing"  # a sync job is on its way
    LISTED = "listed"  # the marketplace shows what we last sent
    FAILED = "failed"  # gave up after retries (the dead-letter list); a farmer may retry
    DELISTED = "delisted"  # taken off sale (by the farmer or a recall)


class ListingSync(SQLModel, table=True):
    """One product on one marketplace: what the farmer wants and what we last sent."""

    __tablename__ = "marketplace_listings"
    __table_args__ = (
        UniqueConstraint("product_id", "marketplace", name="uq_marketplace_listings_product"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    marketplace: str = Field(max_length=20)
    enabled: bool = True
    price_vnd: int
    stock: int
    state: str = Field(default=ListingState.DRAFT, max_length=12, index=True)
    external_id: str | None = Field(default=None, max_length=64)
    sent_content_hash: str | None = Field(default=None, max_length=64)
    sent_price_vnd: int | None = None
    sent_stock: int | None = None
    attempts: int = 0
    #: Leases taken while the listing had no remote id: from the second on, an earlier try
    #: may have created it, so the sync looks it up by SKU before creating it.
    create_tries: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    last_error: str | None = Field(default=None, max_length=500)
    note: str = Field(default="", max_length=200)
    last_synced_at: datetime | None = None
    leased_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

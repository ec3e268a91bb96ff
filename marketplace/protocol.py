"""The one adapter protocol every marketplace implements, and the values it exchanges."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

ACTIVE, DELISTED = "active", "delisted"


@dataclass(frozen=True)
class LotLink:
    """One lot behind a listing: its code, its Digital Link page and its QR code image."""

    code: str
    url: str
    qr_png_url: str


@dataclass(frozen=True)
class Listing:
    """What we want a marketplace to show for one product (marketplace-neutral).

    ``sku`` is our stable key for the product on every marketplace; ``trace_url`` is the
    product's GS1 Digital Link, so a buyer can check origin.
    """

    sku: str
    title: str
    description: str
    category: str
    unit: str
    price_vnd: int
    stock: int
    trace_url: str
    lots: tuple[LotLink, ...] = ()
    images: tuple[str, ...] = field(default_factory=tuple)

    def content_hash(self) -> str:
        """A digest of everything but price and stock (those travel in batched updates)."""
        content = asdict(self)
        del content["price_vnd"], content["stock"]
        return _digest(content)

    def version_hash(self) -> str:
        """A digest of the whole listing: the idempotency key of one listing version."""
        return _digest(asdict(self))


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RemoteListing:
    """A listing as the marketplace reports it."""

    external_id: str
    sku: str
    status: str  # ACTIVE or DELISTED
    price_vnd: int
    stock: int
    title: str = ""
    trace_url: str = ""


@dataclass(frozen=True)
class PriceStock:
    """One item of a price-and-stock update."""

    external_id: str
    price_vnd: int
    stock: int


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item of a batch: ``error`` is None when it was applied."""

    external_id: str
    error: str | None = None
    retryable: bool = False


class MarketplaceAdapter(Protocol):
    """A marketplace as the sync worker sees it; every call raises ``MarketplaceError``s."""

    name: str
    max_batch: int

    def create_listing(self, listing: Listing, idempotency_key: str) -> RemoteListing:
        """Create a listing; the same key never creates a second one."""
        ...

    def update_listing(self, external_id: str, listing: Listing) -> RemoteListing:
        """Replace a listing's content, price and stock, and make it active again.

        A whole replacement is idempotent by itself, so it carries no idempotency key: a
        key per content would replay a stale answer when the same content is listed again
        after a delisting.
        """
        ...

    def update_price_stock(self, items: Sequence[PriceStock]) -> list[ItemResult]:
        """Set price and stock of up to ``max_batch`` listings; failures are per item."""
        ...

    def delist(self, external_id: str) -> None:
        """Take a listing off sale; delisting a delisted listing is not an error."""
        ...

    def fetch_status(self, external_id: str) -> RemoteListing:
        """One listing as the marketplace has it. :raises RemoteNotFound: when gone."""
        ...

    def list_listings(self, sku: str | None = None) -> Iterator[RemoteListing]:
        """Every listing of our shop (or those with ``sku``), page by page."""
        ...

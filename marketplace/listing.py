"""What a product's listing should say: trace links, lot QR codes, price and capped stock."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ScalarSelect
from sqlmodel import Session, col, select

from marketplace.models import ListingSync
from marketplace.protocol import Listing, LotLink
from trace.extensions import stock_counter
from trace.gs1 import dl_uri_unchecked
from trace.i18n import _l
from trace.models import Lot, Producer, Product
from trace.models.base import stored_id
from trace.services.on_sale import lots_on_sale

MAX_LOTS = 30


def product_link(base_url: str, gtin: str) -> str:
    """The product's GS1 Digital Link: ``{base}/01/{gtin}``.

    Unchecked: a GTIN imported before the checks still gets its link, and the marketplace
    or portal refuses it where the producer can see why.
    """
    return dl_uri_unchecked(base_url, [("01", gtin)])


def lot_link(base_url: str, gtin: str, lot_code: str) -> str:
    """The lot's Digital Link page ``{base}/01/{gtin}/10/{lot}`` (lot percent-encoded)."""
    return dl_uri_unchecked(base_url, [("01", gtin), ("10", lot_code)])


def trace_link(base_url: str, gtin: str, lots: list[Lot]) -> str:
    """The listing's trace link: the lot page when one lot is on sale, else the product's."""
    if len(lots) == 1:
        return lot_link(base_url, gtin, lots[0].code)
    return product_link(base_url, gtin)


def lot_qr_url(base_url: str, lot_id: int) -> str:
    """Where the lot's QR code (of its Digital Link) is served as a PNG."""
    return f"{base_url.rstrip('/')}/marketplace/lots/{lot_id}/qr.png"


def sellable_lots(session: Session, product_id: int) -> list[Lot]:
    """The product's lots on sale, as the product page lists them (newest first)."""
    return lots_on_sale(session, stock_counter(current_app), product_id, MAX_LOTS)


def _stampable_stock(product_id: Any) -> ScalarSelect[int]:
    """Stamped packs on the product's sellable lots: the most we may list (mass balance).

    Counted by the stock counter the stamps package offers (``trace.extensions``).
    """
    return stock_counter(current_app)(
        Lot.product_id == product_id,
        col(Lot.recalled_at).is_(None),
        col(Lot.tampered_at).is_(None),
    )


def desired_listing(session: Session, row: ListingSync, base_url: str) -> Listing:
    """The listing ``row`` should show now, built from the registry (two statements)."""
    product, producer, stampable = session.exec(
        select(Product, Producer, _stampable_stock(Product.id))
        .join(Producer, col(Producer.id) == row.producer_id)
        .where(Product.id == row.product_id)
    ).one()
    lots = sellable_lots(session, row.product_id)
    return Listing(
        sku=product.gtin,
        title=product.name_vi,
        description=_description(product, producer),
        category=product.category,
        unit=product.unit,
        price_vnd=row.price_vnd,
        stock=min(row.stock, stampable),
        trace_url=trace_link(base_url, product.gtin, lots),
        lots=tuple(
            LotLink(
                lot.code,
                lot_link(base_url, product.gtin, lot.code),
                lot_qr_url(base_url, stored_id(lot)),
            )
            for lot in lots
        ),
        images=(f"{base_url.rstrip('/')}/marketplace/products/{product.id}/qr.png",),
    )


def _description(product: Product, producer: Producer) -> str:
    # Marketplace buyers read Vietnamese, whatever the language of the worker.
    with force_locale("vi"):
        return str(
            _l(
                "%(name)s from %(producer)s, %(district)s, %(province)s. "
                "Scan the QR code on the pack to check its origin.",
                name=product.name_vi,
                producer=producer.name,
                district=producer.district,
                province=producer.province,
            )
        )

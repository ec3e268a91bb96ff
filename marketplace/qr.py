"""QR code images of listed products and lots, for marketplaces to show beside a listing."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from marketplace.listing import lot_link, product_link
from marketplace.models import ListingSync
from trace.errors import NotFound
from trace.models import Lot, Product
from trace.qr import qr_png


def product_qr_png(session: Session, product_id: int, base_url: str) -> bytes:
    """The PNG QR code of a listed product's Digital Link.

    :raises NotFound: unknown product, or one never offered on a marketplace.
    """
    product = _offered(session, product_id)
    return qr_png(product_link(base_url, product.gtin))


def lot_qr_png(session: Session, lot_id: int, base_url: str) -> bytes:
    """The PNG QR code of a listed lot's Digital Link.

    :raises NotFound: unknown lot, or its product was never offered on a marketplace.
    """
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound()
    product = _offered(session, lot.product_id)
    return qr_png(lot_link(base_url, product.gtin, lot.code))


def _offered(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    listed = select(func.count()).where(ListingSync.product_id == product_id)
    if product is None or not session.exec(listed).one():
        raise NotFound()
    return product

"""QR code images of listed products and lots, for marketplaces to show beside a listing."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
from sqlalchemy import func
from sqlmodel import Session, select

from marketplace.listing import lot_link, product_link
from marketplace.models import ListingSync
from trace.errors import NotFound
from trace.models import Lot, Product


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


@lru_cache(maxsize=512)
def qr_png(text: str) -> bytes:
    """A QR code (error correction M) of ``text`` as PNG bytes."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def _offered(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    listed = select(func.count()).where(ListingSync.product_id == product_id)
    if product is None or not session.exec(listed).one():
        raise NotFound()
    return product

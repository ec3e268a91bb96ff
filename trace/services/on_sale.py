"""Which of a product's lots are on sale: one meaning for the product page and the listings."""

from __future__ import annotations

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from trace.extensions import StockCounter
from trace.models import Lot

MAX_LOTS = 30


def lots_on_sale(
    session: Session, counter: StockCounter, product_id: int, limit: int = MAX_LOTS
) -> list[Lot]:
    """The product's lots with packs for sale, not recalled or found tampered; newest first.

    A lot is on sale while ``counter`` (the stock counter the stamps package offers,
    :func:`trace.extensions.stock_counter`) finds packs on it: a lot never stamped, or one
    that went whole into a repack, has none.
    """
    lot = aliased(Lot)
    packs = counter(col(Lot.id) == lot.id)
    statement = (
        select(lot)
        .where(
            lot.product_id == product_id,
            col(lot.recalled_at).is_(None),
            col(lot.tampered_at).is_(None),
            packs > 0,
        )
        .order_by(col(lot.harvest_date).desc(), col(lot.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement))

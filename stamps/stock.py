"""What stamps offer the marketplace listings: the packs a product may list (its stock cap)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, func
from sqlmodel import col, select

from stamps.models import Stamp, StampStatus
from trace.models import Lot


def packs_on_sale(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
    """Active stamps on the lots ``conditions`` select: each pack sold carries one.

    The stock counter of :mod:`trace.extensions` (mass balance: listed stock never exceeds
    the packs stamped). ``conditions`` are on :class:`trace.models.Lot`; the subquery
    correlates with the enclosing statement (e.g. ``Lot.product_id == Product.id``).
    """
    return (
        select(func.count())
        .select_from(Stamp)
        .join(Lot, col(Lot.id) == Stamp.lot_id)
        .where(col(Stamp.status) == StampStatus.ACTIVE, *conditions)
        .scalar_subquery()
    )

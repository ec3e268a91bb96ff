"""Mass balance of lots: what a lot has left once transformations drew on it and packs used it.

A lot's quantity is used up two ways: transformations draw from it (``lot_inputs.quantity``)
and packs carry it (what the stamps package counts as packed, offered through
:func:`trace.extensions.packed_units`). The checks here run inside the
caller's transaction after :func:`trace.services.lots.lock_lot`, so two requests cannot
both spend the same remainder.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from trace.extensions import packed_units
from trace.models import Lot, LotInput


def drawn_by_transformations(session: Session, lot_id: int) -> Decimal:
    """How much of the lot (in its unit) transformations have drawn into other lots."""
    statement = select(func.coalesce(func.sum(LotInput.quantity), 0)).where(
        LotInput.input_lot_id == lot_id
    )
    return Decimal(str(session.exec(statement).one()))


def remaining(session: Session, lot: Lot) -> Decimal:
    """What a transformation may still draw from ``lot``: neither drawn nor packed yet."""
    lot_id: int = lot.id  # type: ignore[assignment]
    left = lot.quantity - drawn_by_transformations(session, lot_id)
    return max(left - packed_units(session, lot_id), Decimal(0))

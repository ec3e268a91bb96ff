"""Mass balance of lots: what a lot has left once transformations drew on it and packs used it.

A lot's quantity is used up two ways: transformations draw from it (``lot_inputs.quantity``)
and packs carry it (stamps × their run's pack size). The checks here run inside the
caller's transaction after :func:`trace.services.lots.lock_lot`, so two requests cannot
both spend the same remainder.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import column, func, table
from sqlmodel import Session, select

from trace.models import Lot, LotInput

# Stamp tables by name: the registry core does not import the stamps package.
_STAMPS = table("stamps", column("lot_id"), column("run_id"), column("status"))
_RUNS = table("stamp_runs", column("id"), column("pack_size"), column("pending_until"))
PACKED = ("active",)


def drawn_by_transformations(session: Session, lot_id: int) -> Decimal:
    """How much of the lot (in its unit) transformations have drawn into other lots."""
    statement = select(func.coalesce(func.sum(LotInput.quantity), 0)).where(
        LotInput.input_lot_id == lot_id
    )
    return Decimal(str(session.exec(statement).one()))


def units_in_stamps(session: Session, lot_id: int, statuses: tuple[str, ...] = PACKED) -> Decimal:
    """How much of the lot stamps in ``statuses`` stand for (stamps × pack size).

    Stamps of a run still being written (or abandoned half-way) do not count: they are
    not issued yet.
    """
    statement = (
        select(func.coalesce(func.sum(_RUNS.c.pack_size), 0))
        .select_from(_STAMPS.join(_RUNS, _RUNS.c.id == _STAMPS.c.run_id))
        .where(
            _STAMPS.c.lot_id == lot_id,
            _STAMPS.c.status.in_(statuses),
            _RUNS.c.pending_until.is_(None),
        )
    )
    return Decimal(str(session.exec(statement).one()))  # type: ignore[call-overload]


def remaining(session: Session, lot: Lot) -> Decimal:
    """What a transformation may still draw from ``lot``: neither drawn nor packed yet."""
    lot_id: int = lot.id  # type: ignore[assignment]
    left = lot.quantity - drawn_by_transformations(session, lot_id)
    return max(left - units_in_stamps(session, lot_id), Decimal(0))

"""What stamps offer the other packages: the packs a product may list (its stock cap), the
units a lot's stamps stand for (mass balance), and the lots stamps' serials belong to.

Offered at the composition root (:mod:`trace.extensions`); the registry core never reads
the stamps tables itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import ColumnElement, ScalarSelect, func
from sqlmodel import Session, col, select

from stamps.mint_runs import published
from stamps.models import Stamp, StampRun, StampStatus
from trace.models import Lot, Product

#: How many (GTIN, serial) pairs one statement looks up.
CHUNK = 500
SerialKey = tuple[str, str]


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


def units_stamped(session: Session, lot_id: int, counted: StampStatus) -> Decimal:
    """How much of the lot (in its unit) its stamps stand for: stamps × their run's pack size.

    ``counted`` says which stamps use the lot up: only active ones for ``ACTIVE``, every
    stamp not void otherwise. Stamps of a run still being written (or abandoned half-way)
    do not count: they are not issued yet.
    """
    statuses = (
        [StampStatus.ACTIVE]
        if counted == StampStatus.ACTIVE
        else [StampStatus.ISSUED, StampStatus.ACTIVE]
    )
    statement = (
        select(func.coalesce(func.sum(StampRun.pack_size), 0))
        .select_from(Stamp)
        .join(StampRun, col(StampRun.id) == Stamp.run_id)
        .where(
            Stamp.lot_id == lot_id,
            col(Stamp.status).in_(statuses),
            published(),
        )
    )
    return Decimal(str(session.exec(statement).one()))


def packed_units(session: Session, /, *, lot_id: int) -> Decimal:
    """The packed units of :mod:`trace.extensions`: what the lot's active stamps carry."""
    return units_stamped(session, lot_id, StampStatus.ACTIVE)


def stamped_lots(session: Session, /, *, keys: set[SerialKey]) -> dict[SerialKey, int]:
    """The stamped lots of :mod:`trace.extensions`: ``{(GTIN-14, serial): lot id}`` for the
    pairs that are our stamps; a serial must carry its own product's GTIN."""
    found: dict[SerialKey, int] = {}
    for chunk in _chunks(keys):
        statement = (
            select(Stamp.lot_id, Product.gtin, Stamp.serial)
            .join(Lot, col(Lot.id) == Stamp.lot_id)
            .join(Product, col(Product.id) == Lot.product_id)
            .where(col(Stamp.serial).in_({serial for _, serial in chunk}))
        )
        wanted = set(chunk)
        found |= {(g, s): i for i, g, s in session.exec(statement) if (g, s) in wanted}
    return found


def _chunks(keys: set[SerialKey]) -> Iterable[list[SerialKey]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]

"""Quantities of product: the units lots are counted in, what converts, the smallest pack."""

from __future__ import annotations

from decimal import Decimal

#: One kilogram per unit, for the units that are weights; the others convert to nothing.
KG_PER_UNIT = {"kg": Decimal(1), "tonne": Decimal(1000)}

#: The smallest pack a farmer may declare, per unit: 10 g, a whole box, bag or piece,
#: 10 ml. Below it a lot could carry any number of stamps (a milligram pack of rice).
MIN_PACK_SIZE = {
    "kg": Decimal("0.01"),
    "tonne": Decimal("0.001"),
    "box": Decimal(1),
    "bag": Decimal(1),
    "piece": Decimal(1),
    "litre": Decimal("0.01"),
}


def min_pack_size(unit: str) -> Decimal:
    """The smallest pack size allowed in ``unit`` (a whole one for a unit not listed)."""
    return MIN_PACK_SIZE.get(unit, Decimal(1))


def convertible(from_unit: str, to_unit: str) -> bool:
    """Whether an amount in ``from_unit`` can be stated in ``to_unit``."""
    return from_unit == to_unit or (from_unit in KG_PER_UNIT and to_unit in KG_PER_UNIT)


def convert(amount: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """``amount`` of ``from_unit`` stated in ``to_unit``.

    :raises ValueError: the units do not convert (see :func:`convertible`).
    """
    if from_unit == to_unit:
        return amount
    if not convertible(from_unit, to_unit):
        raise ValueError(f"{from_unit} does not convert to {to_unit}")
    return amount * KG_PER_UNIT[from_unit] / KG_PER_UNIT[to_unit]


def plain(number: Decimal) -> str:
    """A quantity as digits, without exponent or trailing zeros (``1200``, ``0.5``)."""
    return f"{number.normalize():f}"

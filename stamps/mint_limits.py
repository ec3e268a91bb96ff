"""How much a producer may mint: runs per lot, stamps per day, and the smallest pack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from stamps.models import StampRun
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Lot
from trace.services.quantities import min_pack_size, plain

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class MintLimits:
    """Caps on minting (``MINT_MAX_RUNS_PER_LOT``, ``MINT_MAX_STAMPS_PER_DAY`` in config)."""

    runs_per_lot: int = 50
    stamps_per_day: int = 1_000_000  # per producer, over the last 24 hours

    @classmethod
    def from_config(cls, config: Any) -> MintLimits:
        """The limits an app was configured with."""
        return cls(
            runs_per_lot=int(config.get("MINT_MAX_RUNS_PER_LOT", cls.runs_per_lot)),
            stamps_per_day=int(config.get("MINT_MAX_STAMPS_PER_DAY", cls.stamps_per_day)),
        )


def check_pack_size(size: Decimal, unit: str) -> None:
    """Refuse a pack smaller than anyone sells in ``unit`` (a milligram pack of rice).

    :raises ValidationError: on ``pack_size``.
    """
    smallest = min_pack_size(unit)
    if size < smallest:
        raise ValidationError(
            {"pack_size": _l("A pack holds at least %(n)s %(unit)s.", n=plain(smallest), unit=unit)}
        )


def check_limits(
    session: Session, lot: Lot, number: int, limits: MintLimits, now: datetime
) -> None:
    """Refuse a run past the lot's run cap or the producer's daily stamp cap.

    Runs still being written count too. Call under the lot's lock.

    :raises ValidationError: on ``count``.
    """
    runs = session.exec(select(func.count()).where(StampRun.lot_id == lot.id)).one()
    if runs >= limits.runs_per_lot:
        raise ValidationError(
            {
                "count": _l(
                    "This lot already has %(n)s stamp runs, the most one lot may have.",
                    n=limits.runs_per_lot,
                )
            }
        )
    today = minted_since(session, lot.producer_id, now - DAY)
    if today + number > limits.stamps_per_day:
        raise ValidationError(
            {
                "count": _l(
                    "At most %(limit)s stamps a day per producer: %(used)s were minted in the "
                    "last 24 hours, so %(left)s more can be minted now.",
                    limit=f"{limits.stamps_per_day:,}",
                    used=f"{today:,}",
                    left=f"{max(limits.stamps_per_day - today, 0):,}",
                )
            }
        )


def minted_since(session: Session, producer_id: int, since: datetime) -> int:
    """How many stamps the producer's runs created since ``since`` hold."""
    statement = (
        select(func.coalesce(func.sum(StampRun.count), 0))
        .join(Lot, col(Lot.id) == StampRun.lot_id)
        .where(Lot.producer_id == producer_id, col(StampRun.created_at) >= since)
    )
    return int(session.exec(statement).one())

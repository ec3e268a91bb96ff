"""The dashboard's rollup tables: counts per lot and month, and how far each log is folded in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class RollupCount(SQLModel, table=True):
    """How many rows of one log (or the sum of a weight) fell on one lot in one local month.

    ``bucket`` splits a log further where a chart needs it (the rule of a flag); it is
    empty otherwise. Lots never change hands, so filters by district and category are
    applied when the rollup is read, through the lot.
    """

    __tablename__ = "dashboard_rollup_counts"

    source: str = Field(primary_key=True, max_length=24)
    month: str = Field(primary_key=True, max_length=7)
    lot_id: int = Field(primary_key=True, foreign_key="lots.id")
    bucket: str = Field(primary_key=True, max_length=24)
    total: int = Field(sa_type=BigInteger)


class RollupWatermark(SQLModel, table=True):
    """The highest id of a log folded into ``dashboard_rollup_counts``; later rows are live."""

    __tablename__ = "dashboard_rollup_watermarks"

    source: str = Field(primary_key=True, max_length=24)
    last_id: int = Field(default=0, sa_type=BigInteger)
    folded_at: datetime = Field(default_factory=utcnow)

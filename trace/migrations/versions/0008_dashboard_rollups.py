"""dashboard rollups: counts per lot and local month of scans, flags and stamp runs

The dashboard reads these plus the rows past each log's watermark, so it stays exact;
``flask dashboard-rollup`` (or the worker, every minute) folds the logs in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_rollup_counts",
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.PrimaryKeyConstraint("source", "month", "lot_id", "bucket"),
    )
    op.create_table(
        "dashboard_rollup_watermarks",
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("folded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_rollup_watermarks")
    op.drop_table("dashboard_rollup_counts")

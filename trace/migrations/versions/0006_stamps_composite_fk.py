"""stamps: one composite foreign key (lot_id, run_id) -> stamp_runs (lot_id, id)

PostgreSQL checks foreign keys row by row; bulk minting paid for two checks per stamp.
One composite key halves that and also guarantees that a stamp's lot is its run's lot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _stamps_without_keys() -> sa.Table:
    """The stamps table as 0002 made it, minus its unnamed foreign keys (SQLite rebuild)."""
    return sa.Table(
        "stamps",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sqlmodel.sql.sqltypes.AutoString(length=10),
            server_default=sa.text("'issued'"),
            nullable=False,
        ),
        sa.Column("flagged", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("scan_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_scan_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column(
            "first_scan_province", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True
        ),
        sa.UniqueConstraint("serial"),
        sa.Index("ix_stamps_lot_id_run_id", "lot_id", "run_id"),
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("stamp_runs") as batch_op:
        batch_op.create_unique_constraint("uq_stamp_runs_lot_id_id", ["lot_id", "id"])
    if sqlite:
        with op.batch_alter_table(
            "stamps", recreate="always", copy_from=_stamps_without_keys()
        ) as batch_op:
            batch_op.create_foreign_key(
                "fk_stamps_run_of_lot", "stamp_runs", ["lot_id", "run_id"], ["lot_id", "id"]
            )
        return
    op.drop_constraint("stamps_lot_id_fkey", "stamps", type_="foreignkey")
    op.drop_constraint("stamps_run_id_fkey", "stamps", type_="foreignkey")
    op.create_foreign_key(
        "fk_stamps_run_of_lot", "stamps", "stamp_runs", ["lot_id", "run_id"], ["lot_id", "id"]
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.batch_alter_table(
            "stamps", recreate="always", copy_from=_stamps_without_keys()
        ) as batch_op:
            batch_op.create_foreign_key("stamps_lot_id_fkey", "lots", ["lot_id"], ["id"])
            batch_op.create_foreign_key("stamps_run_id_fkey", "stamp_runs", ["run_id"], ["id"])
    else:
        op.drop_constraint("fk_stamps_run_of_lot", "stamps", type_="foreignkey")
        op.create_foreign_key("stamps_lot_id_fkey", "stamps", "lots", ["lot_id"], ["id"])
        op.create_foreign_key("stamps_run_id_fkey", "stamps", "stamp_runs", ["run_id"], ["id"])
    with op.batch_alter_table("stamp_runs") as batch_op:
        batch_op.drop_constraint("uq_stamp_runs_lot_id_id", type_="unique")

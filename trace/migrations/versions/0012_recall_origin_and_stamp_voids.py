"""lots: the recall's origin and reason; stamp_voids: voided labels, undoable for a while

A recall reaches every lot made from the recalled one; each keeps the lot it was
recalled through (``recall_origin_lot_id``) and why, for the scan page. Voids are
logged one row per void and one per undo, so a void can be reversed exactly.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "recall_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
            )
        )
        batch_op.add_column(sa.Column("recall_origin_lot_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_lots_recall_origin_lot_id_lots", "lots", ["recall_origin_lot_id"], ["id"]
        )
    op.create_table(
        "stamp_voids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.ForeignKeyConstraint(["undoes_id"], ["stamp_voids.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("undoes_id"),
    )
    with op.batch_alter_table("stamp_voids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stamp_voids_lot_id"), ["lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stamp_voids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stamp_voids_lot_id"))
    op.drop_table("stamp_voids")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_constraint("fk_lots_recall_origin_lot_id_lots", type_="foreignkey")
        batch_op.drop_column("recall_origin_lot_id")
        batch_op.drop_column("recall_reason")

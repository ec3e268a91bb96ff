"""stamp_runs.pending_until and lot_inputs.quantity: chunked minting and mass balance

A big run is written in short transactions while ``pending_until`` is set (its stamps are
not scannable yet); clearing it publishes the run at once. ``lot_inputs.quantity`` says
how much of each input lot a transformation drew, so an input's remaining quantity is
known. Edges recorded before keep NULL (nothing known to be drawn).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stamp_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("lot_inputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Numeric(14, 3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lot_inputs", schema=None) as batch_op:
        batch_op.drop_column("quantity")
    with op.batch_alter_table("stamp_runs", schema=None) as batch_op:
        batch_op.drop_column("pending_until")

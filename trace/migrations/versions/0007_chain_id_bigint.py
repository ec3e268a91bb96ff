"""anchor_rounds.chain_id as a 64-bit integer (the embedded chain's id exceeds int32)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anchor_rounds") as batch_op:
        batch_op.alter_column(
            "chain_id", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("anchor_rounds") as batch_op:
        batch_op.alter_column(
            "chain_id", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True
        )

"""marketplace_listings: create_tries, so a listing's first create needs no look-up by SKU

The sync looked every listing without a remote id up by SKU before creating it, in case
an earlier try had created it unseen (a timeout, a crash): two marketplace calls per new
listing. Taking the lease now counts a create try; only from the second try on can an
earlier one have reached the marketplace. Listings that exist already start at 1, so
their next try still looks them up (one of their earlier tries may have been cut off).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("marketplace_listings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("create_tries", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.execute("UPDATE marketplace_listings SET create_tries = 1")


def downgrade() -> None:
    with op.batch_alter_table("marketplace_listings", schema=None) as batch_op:
        batch_op.drop_column("create_tries")

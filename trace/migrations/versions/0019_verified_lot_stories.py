"""verified_lot_stories: a lot's story as read when its integrity was last found intact

A scan that reads a lot's story afresh first re-hashes the lot's whole document
(``trace.anchoring.check_integrity``): about two thirds of a cold scan's CPU. Each gunicorn
worker did it again for every lot it had not read yet. The story read then is now kept
here, once per lot, story version and day, signed with the app's secret, so the other
workers take it instead of reading and re-checking the same version
(``stamps.story_share``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "verified_lot_stories",
        sa.Column("lot_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("version", AutoString(length=400), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("mac", AutoString(length=64), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.PrimaryKeyConstraint("lot_id"),
    )


def downgrade() -> None:
    op.drop_table("verified_lot_stories")

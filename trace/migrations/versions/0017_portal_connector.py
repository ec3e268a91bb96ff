"""portal enrolments, records and pushes: the national traceability portal connector

A producer may opt in to share with the national traceability portal; their organisation,
products, growing areas (plots), production orders (lots), stage events and recalls are
pushed through the job outbox. Each pushed object keeps its portal id and the digest of
what was sent (so a retry never creates it twice), and every request with the portal's
answer is kept for the admin.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "portal_enrolments",
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["producer_id"], ["producers.id"]),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("producer_id"),
    )
    op.create_table(
        "portal_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("kind", AutoString(length=20), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("remote_id", AutoString(length=64), nullable=True),
        sa.Column("sent_hash", AutoString(length=64), nullable=True),
        sa.Column("state", AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("create_tries", sa.Integer(), nullable=False),
        sa.Column("last_error", AutoString(length=500), nullable=True),
        sa.Column("last_synced_at", UTCDateTime(), nullable=True),
        sa.Column("leased_by", AutoString(length=120), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["producer_id"], ["producers.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "local_id", name="uq_portal_records_kind_local"),
    )
    for column in ("producer_id", "lot_id", "state"):
        op.create_index(f"ix_portal_records_{column}", "portal_records", [column], unique=False)
    op.create_table(
        "portal_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("kind", AutoString(length=20), nullable=False),
        sa.Column("method", AutoString(length=8), nullable=False),
        sa.Column("path", AutoString(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("outcome", AutoString(length=12), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["producer_id"], ["producers.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["portal_records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("producer_id", "record_id", "sent_at"):
        op.create_index(f"ix_portal_pushes_{column}", "portal_pushes", [column], unique=False)


def downgrade() -> None:
    for column in ("producer_id", "record_id", "sent_at"):
        op.drop_index(f"ix_portal_pushes_{column}", table_name="portal_pushes")
    op.drop_table("portal_pushes")
    for column in ("producer_id", "lot_id", "state"):
        op.drop_index(f"ix_portal_records_{column}", table_name="portal_records")
    op.drop_table("portal_records")
    op.drop_table("portal_enrolments")

"""scans: one index for a client's last scan of a stamp; flag reviews; clone thresholds;
scan places

A reload, a language switch or the redirect after sharing a province counted as a new
scan: a scan is now one client's first view of a stamp in a window, found through
``ix_scans_stamp_client_time`` (which also serves every "scans of a stamp" query, so the
single-column index goes). Inspectors review flags (confirmed / dismissed, with a note).
Admins set the clone rules' limits per product and a province default; custom
``products.scan_threshold`` values move there. ``scan_places`` logs where consenting
consumers scanned, so the dashboard counts scans where they happened.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime
LEGACY_THRESHOLD = 50


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scans_stamp_client_time", ["stamp_id", "client_hash", "scanned_at"], unique=False
        )
        batch_op.drop_index("ix_scans_stamp_id")
    with op.batch_alter_table("stamp_flags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review", AutoString(length=10), server_default="open", nullable=False)
        )
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("review_note", AutoString(length=1000), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            "fk_stamp_flags_reviewed_by_id_users", "users", ["reviewed_by_id"], ["id"]
        )
        batch_op.create_index("ix_stamp_flags_review", ["review"], unique=False)
    op.create_table(
        "clone_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("max_scans", sa.Integer(), nullable=True),
        sa.Column("max_travel_kmh", sa.Float(), nullable=True),
        sa.Column("min_travel_km", sa.Float(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id"),
    )
    op.create_table(
        "scan_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("scanned_at", UTCDateTime(), nullable=False),
        sa.Column("district", AutoString(length=24), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scan_id"),
    )
    _move_custom_thresholds()


def _move_custom_thresholds() -> None:
    """Products whose scan threshold was changed keep it, as their own clone threshold
    (who changed it was never recorded: ``updated_by_id`` stays empty)."""
    op.execute(
        sa.text(
            "INSERT INTO clone_thresholds (product_id, max_scans, updated_at) "
            "SELECT id, scan_threshold, CURRENT_TIMESTAMP FROM products "
            f"WHERE scan_threshold <> {LEGACY_THRESHOLD}"
        )
    )


def downgrade() -> None:
    op.drop_table("scan_places")
    op.drop_table("clone_thresholds")
    with op.batch_alter_table("stamp_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_stamp_flags_review")
        batch_op.drop_constraint("fk_stamp_flags_reviewed_by_id_users", type_="foreignkey")
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("review")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index("ix_scans_stamp_id", ["stamp_id"], unique=False)
        batch_op.drop_index("ix_scans_stamp_client_time")

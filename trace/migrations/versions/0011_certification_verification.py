"""certifications: who verified them and when, and the products each one covers

A certification was shown as valid on every product of its producer, though nobody had
checked it and it may cover one product only. It is now "declared" until an inspector or
admin verifies it, and it names the products it covers (``certification_products``) or is
marked producer-wide. Existing certificates were declared with no product named, for the
whole producer: they become producer-wide, still unverified.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "producer_wide", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_certifications_verified_by_id_users", "users", ["verified_by_id"], ["id"]
        )
    op.execute("UPDATE certifications SET producer_wide = true")
    op.create_table(
        "certification_products",
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["certification_id"], ["certifications.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("certification_id", "product_id"),
    )
    with op.batch_alter_table("certification_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_products_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("certification_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_products_product_id"))
    op.drop_table("certification_products")
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_constraint("fk_certifications_verified_by_id_users", type_="foreignkey")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("producer_wide")

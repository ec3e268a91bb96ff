"""export manifests: their canonical document and hash, anchored in rounds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import trace.models.exports  # noqa: F401


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_manifests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('canonical_json', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('manifest_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('round_proof', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_export_manifests_round_id'), ['round_id'], unique=False)
        batch_op.create_foreign_key('fk_export_manifests_round_id', 'anchor_rounds', ['round_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('export_manifests', schema=None) as batch_op:
        batch_op.drop_constraint('fk_export_manifests_round_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_export_manifests_round_id'))
        batch_op.drop_column('round_proof')
        batch_op.drop_column('round_id')
        batch_op.drop_column('manifest_hash')
        batch_op.drop_column('canonical_json')

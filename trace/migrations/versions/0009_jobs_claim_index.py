"""jobs: one index (status, run_after, id) for the worker's claim

The claim takes the oldest queued job. With the separate status and run_after indexes
the database walked run_after from the oldest row, past every finished job, on every
claim: a queue of 16,000 marketplace syncs slowed down as it drained. With status first,
the claim reads the queued jobs only, already in order. It also serves every lookup by
status alone, so the single-column status index goes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_run_after_id", ["status", "run_after", "id"])
        batch_op.drop_index(batch_op.f("ix_jobs_status"))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)
        batch_op.drop_index("ix_jobs_status_run_after_id")

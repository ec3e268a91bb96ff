"""scans: AUTOINCREMENT on SQLite, so the scan hot path can reserve scan ids in blocks

The hot path writes counted scans in batches (``stamps.hotpath.scan_buffer``) and must know
a scan's id when it answers (the consent token names it). PostgreSQL hands out blocks from
the table's sequence. A plain SQLite table has no sequence: a new row takes the largest id
plus one, so an id handed out before its row is written would be taken by the next insert
elsewhere (the full scan view, for one). With ``AUTOINCREMENT`` SQLite never reuses an id at
or below ``sqlite_sequence.seq``: raising ``seq`` reserves the ids under it, and every other
insert takes ids above them.

SQLite cannot add ``AUTOINCREMENT`` to a table in place: the table is rebuilt (copied with
its ids, indexes made again), which takes seconds per million scans and holds the database's
write lock meanwhile: run it at a quiet hour. PostgreSQL: nothing changes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "scans", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass

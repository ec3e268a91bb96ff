"""lots.story_version, producers.story_version: a lot's story version in two rows it already reads

What a scan shows of a lot beyond the stamp (its events, EPCIS events, anchoring, the
producer's certifications) is cached per story version (``stamps.report.lot_story``, the scan
hot path). The version was six figures read with every scan: the newest event, EPCIS event
and confirmed anchored document of the lot, and the count, newest id and newest verification
of the producer's certifications: six index look-ups a scan. On SQLite every write by another
connection empties a reader's page cache (WAL), so with scans being written all the time those
look-ups read their pages from the file again each time.

Now database triggers keep two counters: ``lots.story_version`` goes up whenever a row of the
lot's events, EPCIS event links or documents changes, or an anchoring round holding one of its
documents changes status; ``producers.story_version`` whenever a certification of the
producer, or the products one covers, changes. The counters only go up and change in the
transaction that changes the story, so every write path is covered, the ORM's, bulk inserts
and hand-written SQL alike. Counting more changes than the story shows (a round prepared, not
yet confirmed) only costs a cache miss.

Existing rows start at 0. Stories cached or shared before were keyed by the six figures and
are simply not found again (read afresh once).

PostgreSQL: bumping a lot takes its row lock until the transaction ends, as locking a lot
already does (``trace.services.lots.lock_lot``); writers that touch several lots do so in lot
id order.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

#: (table, the column naming the lot) whose rows are part of a lot's story.
LOT_PARTS = (("events", "lot_id"), ("epcis_event_lots", "lot_id"), ("lot_documents", "lot_id"))
_BUMP_LOT = "UPDATE lots SET story_version = story_version + 1 WHERE id = {row}.lot_id"
_BUMP_PRODUCER = (
    "UPDATE producers SET story_version = story_version + 1 WHERE id = {row}.producer_id"
)
_BUMP_COVERED = (
    "UPDATE producers SET story_version = story_version + 1 WHERE id = "
    "(SELECT producer_id FROM certifications WHERE id = {row}.certification_id)"
)
_BUMP_ROUND = (
    "UPDATE lots SET story_version = story_version + 1 "
    "WHERE id IN (SELECT lot_id FROM lot_documents WHERE round_id = NEW.id)"
)
#: (trigger name, table, the statement bumping a counter for the row ``{row}``).
_ROW_TRIGGERS = (
    *((f"{table}_lot_story", table, _BUMP_LOT) for table, _ in LOT_PARTS),
    ("certifications_producer_story", "certifications", _BUMP_PRODUCER),
    ("certification_products_producer_story", "certification_products", _BUMP_COVERED),
)


def upgrade() -> None:
    for table in ("lots", "producers"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("story_version", sa.Integer(), nullable=False, server_default="0")
            )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    for name, table, bump in _ROW_TRIGGERS:
        # Events are append-only (0001): their update and delete triggers never fire.
        op.execute(
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} "
            f"BEGIN {bump.format(row='NEW')}; END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} "
            f"BEGIN {bump.format(row='OLD')}; {bump.format(row='NEW')}; END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} "
            f"BEGIN {bump.format(row='OLD')}; END"
        )
    op.execute(
        "CREATE TRIGGER anchor_rounds_lot_story AFTER UPDATE OF status ON anchor_rounds "
        f"WHEN NEW.status IS NOT OLD.status BEGIN {_BUMP_ROUND}; END"
    )


def _postgresql_triggers() -> None:
    for name, table, bump in _ROW_TRIGGERS:
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {bump.format(row='OLD')}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN {bump.format(row='NEW')}; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    op.execute(
        "CREATE FUNCTION anchor_rounds_lot_story() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_BUMP_ROUND}; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER anchor_rounds_lot_story AFTER UPDATE OF status ON anchor_rounds "
        "FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) "
        "EXECUTE FUNCTION anchor_rounds_lot_story()"
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, table, _ in (*_ROW_TRIGGERS, ("anchor_rounds_lot_story", "anchor_rounds", "")):
        if sqlite:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{action}")
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    for table in ("producers", "lots"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("story_version")

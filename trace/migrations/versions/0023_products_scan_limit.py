"""products.scan_limit: the clone rules' scan limit in force, kept by the database

The scan hot path reads every stamp with its lot, run, product and producer in one
statement. It also needs the product's scan limit (``clone_thresholds``: the product's own
row, else the province default's; ``stamps.clone_rules.limits_from``), and joined both rows
(two more relations and index look-ups for every scan: ~15-25 µs of the PostgreSQL server's
time a scan, measured on the factor-1 province, out of ~100 µs for the whole statement).

Now ``products.scan_limit`` holds that limit (NULL: neither row sets one, the built-in
``MAX_SCANS`` applies), and database triggers keep it: a change to a product's own row
sets that product's, a change to the province default's sets every product's that has
no limit of its own, and a new product takes the default. They change it in the
transaction that changes the thresholds, so every write path is covered (the admin's
form, the API, hand-written SQL). The full scan view still reads ``clone_thresholds``
itself (every limit, not only this one); the tests compare both.

``products.scan_threshold`` is 0002's per-product limit, moved to ``clone_thresholds`` by
0016 and read by nothing since; it is left as it is.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: The province default's limit.
_DEFAULT_LIMIT = (
    "(SELECT max_scans FROM clone_thresholds WHERE product_id IS NULL ORDER BY id LIMIT 1)"
)
#: The limit in force for the product ``products`` (the row being updated).
_LIMIT = (
    "coalesce((SELECT max_scans FROM clone_thresholds WHERE product_id = products.id), "
    f"{_DEFAULT_LIMIT})"
)
#: Sets the limit of the products a ``clone_thresholds`` row ``{row}`` applies to: its
#: product, or (the default's row) every product; rows already right are not rewritten.
_SET = (
    f"UPDATE products SET scan_limit = {_LIMIT} "
    "WHERE ({row}.product_id IS NULL OR products.id = {row}.product_id) "
    f"AND scan_limit IS DISTINCT FROM {_LIMIT}"
)
_SET_SQLITE = _SET.replace("IS DISTINCT FROM", "IS NOT")


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("scan_limit", sa.Integer(), nullable=True))
    op.execute(f"UPDATE products SET scan_limit = {_LIMIT}")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    table = "clone_thresholds"
    op.execute(
        f"CREATE TRIGGER {table}_scan_limit_insert AFTER INSERT ON {table} "
        f"BEGIN {_SET_SQLITE.format(row='NEW')}; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_scan_limit_update AFTER UPDATE ON {table} "
        f"BEGIN {_SET_SQLITE.format(row='OLD')}; {_SET_SQLITE.format(row='NEW')}; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_scan_limit_delete AFTER DELETE ON {table} "
        f"BEGIN {_SET_SQLITE.format(row='OLD')}; END"
    )
    op.execute(
        "CREATE TRIGGER products_scan_limit AFTER INSERT ON products "
        f"BEGIN UPDATE products SET scan_limit = {_LIMIT} WHERE id = NEW.id; END"
    )


#: PostgreSQL: both triggers take this transaction lock first, so a product added while
#: the default changes is seen by one or the other (each statement after it reads what the
#: other transaction committed): without it, under READ COMMITTED, the new product could
#: keep the old default while the change's UPDATE did not see it.
_SERIALIZE = "PERFORM pg_advisory_xact_lock(hashtext('agritrace.products.scan_limit'));"


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE FUNCTION clone_thresholds_scan_limit() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_SERIALIZE} "
        f"IF TG_OP <> 'INSERT' THEN {_SET.format(row='OLD')}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_SET.format(row='NEW')}; END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER clone_thresholds_scan_limit AFTER INSERT OR UPDATE OR DELETE "
        "ON clone_thresholds FOR EACH ROW EXECUTE FUNCTION clone_thresholds_scan_limit()"
    )
    # Before the row is written: a new product has no limit of its own yet (its
    # clone_thresholds row would name it), so the default's applies.
    op.execute(
        "CREATE FUNCTION products_scan_limit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{_SERIALIZE} NEW.scan_limit := {_DEFAULT_LIMIT}; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER products_scan_limit BEFORE INSERT ON products "
        "FOR EACH ROW EXECUTE FUNCTION products_scan_limit()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS clone_thresholds_scan_limit_{action}")
        op.execute("DROP TRIGGER IF EXISTS products_scan_limit")
    else:
        op.execute("DROP TRIGGER clone_thresholds_scan_limit ON clone_thresholds")
        op.execute("DROP FUNCTION clone_thresholds_scan_limit()")
        op.execute("DROP TRIGGER products_scan_limit ON products")
        op.execute("DROP FUNCTION products_scan_limit()")
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("scan_limit")

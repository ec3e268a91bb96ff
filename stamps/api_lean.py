"""The inspector API's verdict and proof bundle on prebuilt driver-level statements (issue 21).

``GET /api/v1/stamps/{serial}`` and ``GET /api/v1/stamps/{serial}/proof`` answer here when
they can, as the scan hot path (:mod:`stamps.hotpath`) does: one statement finds the stamp
with its lot, product, producer and the lot's story version; a proof reads the lot's
anchored version and, only when the stamp tree is not cached, the lot's serials. No ORM
entity and no session query on the way. The answers are the ones the full path
(:func:`stamps.api.verdict_item`, :func:`stamps.proofs.proof_bundle`) gives; whenever that
cannot be shown from the row alone the full path answers instead (returns None here):

- no stamp with the serial, or one the caller may not see (the full path's 404);
- a lot whose story neither this worker nor another (:mod:`stamps.story_share`) read for
  its current version and day: reading it afresh checks the lot's integrity, which the
  full path does (:func:`stamps.verdict.assess`);
- a stamp with flags that hold (the verdict lists them);
- a lot with no confirmed version, or a stamp minted after it (the full path's 409).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import Engine, bindparam, exists, select

from chain.errors import InvalidProof
from stamps.extensions import scan_statements
from stamps.flag_review import holding
from stamps.hotpath.statements import (
    VERSION_COLUMNS,
    Prebuilt,
    ScanStatements,
    published_stamp,
    shared_row,
    with_shared_story,
)
from stamps.identity import normalize_serial, stamp_uri
from stamps.models import Stamp, StampFlag, StampStatus
from stamps.proof_store import tree_store
from stamps.proofs import AnchoredParts, ProofPending, StampTreeCache, assemble_bundle
from stamps.report import StoryCache
from stamps.verdict import Verdict, judge
from trace.anchoring.rounds import ANCHORED_VERSION, receipt_from
from trace.extensions import db_engine
from trace.models import Lot, Producer, ProducerStatus, Product
from trace.services.access import Actor

log = logging.getLogger(__name__)
LEAN_STATEMENTS = "stamp_api_lean"

_STAMP = Stamp.__table__  # type: ignore[attr-defined]
_LOT = Lot.__table__  # type: ignore[attr-defined]
_PRODUCT = Product.__table__  # type: ignore[attr-defined]
_PRODUCER = Producer.__table__  # type: ignore[attr-defined]
_FLAGS = StampFlag.__table__  # type: ignore[attr-defined]
#: Whether a flag still holds against the stamp (``flags_of`` would list one).
_HOLDS_FLAGS = exists().where(_FLAGS.c.stamp_id == _STAMP.c.id, holding())
#: What the verdict says of a stamp, as :func:`stamps.scanning.facts_of_serial` finds it
#: (a published run), with the lot's story version and shared story as the last columns.
STAMP_VERDICT = with_shared_story(
    published_stamp(
        _STAMP.c.serial,
        _STAMP.c.status,
        _STAMP.c.flagged,
        _STAMP.c.scan_count,
        _STAMP.c.first_scan_at,
        _STAMP.c.first_scan_province,
        _LOT.c.id.label("lot_id"),
        _LOT.c.code.label("lot_code"),
        _LOT.c.recalled_at,
        _LOT.c.tampered_at,
        _PRODUCT.c.gtin,
        _PRODUCT.c.name_vi,
        _PRODUCER.c.id.label("producer_id"),
        _PRODUCER.c.name.label("producer_name"),
        _PRODUCER.c.status.label("producer_status"),
        _HOLDS_FLAGS.label("holds_flags"),
    )
)
#: The lot's first ``count`` stamps in minting order: an anchored stamp set's serials.
ANCHORED_SERIALS = (
    select(_STAMP.c.serial)
    .where(_STAMP.c.lot_id == bindparam("lot"))
    .order_by(_STAMP.c.id)
    .limit(bindparam("count"))
)


class LeanStatements:
    """The lean path's statements for one engine, on the scan path's per-thread connections."""

    def __init__(self, engine: Engine, connections: ScanStatements) -> None:
        self.connections = connections
        self.stamp = Prebuilt(STAMP_VERDICT, engine)
        self.anchored = Prebuilt(ANCHORED_VERSION, engine)
        self.serials = Prebuilt(ANCHORED_SERIALS, engine)
        #: Never prepared on PostgreSQL: a generic plan for "lot = $1 ORDER BY id LIMIT $2"
        #: walks the primary key from the first stamp, filtering (90 ms for a late lot of
        #: 170,000 stamps; seconds at factor 10), where the lot's own plan reads its index
        #: and sorts (0.5 ms). psycopg prepares a statement run five times on a connection.
        self.serials_options = {"prepare": False} if engine.dialect.name == "postgresql" else {}


def lean_statements(app: Flask) -> LeanStatements:
    """The app's lean statements, compiled on first use."""
    found = app.extensions.get(LEAN_STATEMENTS)
    if found is None:
        statements = LeanStatements(db_engine(app), scan_statements(app))
        found = app.extensions[LEAN_STATEMENTS] = statements
    return found  # type: ignore[no-any-return]


def lean_verdict(
    app: Flask, actor: Actor, serial: str, stories: StoryCache
) -> dict[str, Any] | None:
    """What ``GET /api/v1/stamps/{serial}`` answers (:func:`stamps.api.verdict_item`), or
    None: the full path answers."""

    def answer(st: LeanStatements, cursor: Any) -> dict[str, Any] | None:
        row = _verdict_row(st, cursor, actor, serial, stories)
        if row is None or row["holds_flags"]:
            return None
        return verdict_body(app.config["PUBLIC_BASE_URL"], row, _verdict_of(row))

    return _run(app, answer)


def lean_proof(
    app: Flask,
    actor: Actor,
    serial: str,
    stories: StoryCache,
    trees: StampTreeCache,
    rpc_hint: str | None,
) -> dict[str, Any] | None:
    """What ``GET /api/v1/stamps/{serial}/proof`` answers (the bundle and the verdict), or
    None: the full path answers (also when the stored parts do not lead to the anchored
    root: it refuses the bundle as tampered, as it always has)."""

    def answer(st: LeanStatements, cursor: Any) -> dict[str, Any] | None:
        row = _verdict_row(st, cursor, actor, serial, stories)
        if row is None:
            return None
        anchored = st.connections.one(cursor, st.anchored, {"lot": row["lot_id"]})
        if anchored is None:
            return None
        values = dict(zip(st.anchored.names, anchored, strict=True))  # type: ignore[arg-type]
        parts = AnchoredParts(
            row["lot_id"], values["canonical_json"], values["lot_proof"], receipt_from(values)
        )

        def read_serials(count: int) -> list[str]:
            values = st.serials.params({"lot": row["lot_id"], "count": count})
            cursor.execute(st.serials.sql, values, **st.serials_options)
            return [serial for (serial,) in cursor.fetchall()]

        try:
            bundle = assemble_bundle(
                parts, row["serial"], rpc_hint, trees, read_serials, tree_store(app)
            )
        except ProofPending:
            return None
        return bundle | {"verdict": _verdict_of(row)}

    return _run(app, answer)


def verdict_body(base: str, row: Mapping[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The verdict resource of an unflagged stamp, from its :data:`STAMP_VERDICT` row."""
    serial = row["serial"]
    return {
        "serial": serial,
        "uri": stamp_uri(base, row["gtin"], row["lot_code"], serial),
        "verdict": str(verdict),
        "status": row["status"],
        "lot_id": row["lot_id"],
        "lot_code": row["lot_code"],
        "gtin": row["gtin"],
        "product_name_vi": row["name_vi"],
        "producer_id": row["producer_id"],
        "producer_name": row["producer_name"],
        "recalled_at": row["recalled_at"],
        "scan_count": row["scan_count"],
        "first_scan_at": row["first_scan_at"],
        "first_scan_province": row["first_scan_province"],
        "flags": [],
    }


def _run(app: Flask, answer: Any) -> dict[str, Any] | None:
    """``answer(statements, cursor)`` on this thread's connection, its reads then ended.

    The transaction ends with a commit, not a rollback (nothing was written): psycopg
    forgets its prepared statements on each rollback (see :mod:`stamps.hotpath.serve`).
    On any failure the full path answers: a bundle refused as tampered is refused there
    too, and a broken connection is replaced (and logged).
    """
    st = lean_statements(app)
    try:
        conn = st.connections.connection()
        found = answer(st, st.connections.cursor())
        conn.commit()
    except InvalidProof:
        conn.rollback()
        return None
    except Exception:  # noqa: BLE001 - the full path answers (and reports) instead
        log.exception("inspector lean path failed; the full path answers")
        st.connections.discard()
        return None
    return found  # type: ignore[no-any-return]


def _verdict_row(
    st: LeanStatements, cursor: Any, actor: Actor, serial: str, stories: StoryCache
) -> dict[str, Any] | None:
    """The stamp's row if the caller may see it and its lot's story is read for today."""
    found = st.connections.one(cursor, st.stamp, {"serial": normalize_serial(serial)})
    if found is None:
        return None
    row = dict(zip(st.stamp.names, found, strict=True))  # type: ignore[arg-type]
    if not actor.can_see(row["producer_id"]):
        return None
    version = tuple(row[name] for name in VERSION_COLUMNS)
    key = (row["lot_id"], row["producer_id"], version, date.today())

    shared = shared_row(row)
    return None if stories.find(key, lambda: shared) is None else row


def _verdict_of(row: Mapping[str, Any]) -> Verdict:
    """:func:`stamps.verdict.verdict_of` from the row's columns."""
    return judge(
        recalled=row["status"] == StampStatus.RECALLED or row["recalled_at"] is not None,
        tampered=row["tampered_at"] is not None,
        void=row["status"] == StampStatus.VOID,
        producer_suspended=row["producer_status"] == ProducerStatus.SUSPENDED,
        flagged=row["flagged"],
    )

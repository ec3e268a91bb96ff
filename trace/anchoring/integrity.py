"""Integrity: recompute a lot's document from the database and compare it with its anchor."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlmodel import Session, col, select

from chain.canonical import document_hash
from chain.merkle import leaf_hash, process_proof
from trace.anchoring.documents import (
    DOCUMENT_SCHEMA,
    build_document,
    document_schema,
    gather_facts,
    latest_version,
    mark_tampered,
)
from trace.anchoring.lot_document import LotFacts, encoded, lot_document
from trace.anchoring.rounds import anchored_version
from trace.db import snapshot
from trace.extensions import lot_verified
from trace.models import AnchorRound, Lot, LotDocument, RoundStatus
from trace.services.changes import change_queued

#: How long the sweep's shared stories may wait for their commit (the write lock they hold
#: on SQLite stays within issue 21's ~100 ms while scans run).
SHARE_COMMIT_SECONDS = 0.05
#: Why a lot whose data gives another document than its latest recorded version is tampered.
DIFFERS = "the database no longer gives the recorded document"


@dataclass(frozen=True)
class IntegrityReport:
    """What an integrity check found for one lot.

    ``status``: ``intact`` (the data gives the latest recorded hash), ``tampered``,
    ``changing`` (a legitimate change is waiting for its new version) or ``unrecorded``.
    """

    lot_id: int
    status: str
    current_hash: str
    recorded_hash: str | None
    anchored_hash: str | None
    anchored_version: int | None
    reason: str | None = None


def check_integrity(session: Session, lot_id: int) -> IntegrityReport:
    """Recompute the lot's document and compare; a mismatch marks the lot tampered.

    A mismatch is confirmed before anything is marked: the reads are made again in one
    snapshot (:func:`trace.db.snapshot`), since a document refresh committing between
    them (the new version, then its job done) would otherwise show new data beside the
    old version and no queued change: a genuine lot reported TAMPERED.

    :raises LookupError: unknown lot.
    """
    report = _check(session, lot_id)
    if report.reason == DIFFERS:
        with snapshot(session.get_bind()) as consistent:
            report = _check(consistent, lot_id)
    if report.status == "tampered":
        mark_tampered(session, lot_id)
    lot = session.get(Lot, lot_id)
    if report.status != "tampered" and lot is not None and lot.tampered_at is not None:
        return IntegrityReport(
            **{
                **report.__dict__,
                "status": "tampered",
                "reason": "the lot was found tampered earlier",
            }
        )
    return report


def _check(session: Session, lot_id: int) -> IntegrityReport:
    """What the lot's data, recorded and anchored versions and queued changes say now."""
    recorded = latest_version(session, lot_id)
    # A lot anchored under schema 1 is compared with the schema-1 view of its data.
    schema = document_schema(recorded) if recorded is not None else DOCUMENT_SCHEMA
    current = document_hash(build_document(session, lot_id, schema=schema)).hex()
    anchored = anchored_version(session, lot_id)
    return _report(session, lot_id, current, recorded, anchored)


def _report(session, lot_id, current, recorded, anchored) -> IntegrityReport:  # type: ignore[no-untyped-def]
    base = {
        "lot_id": lot_id,
        "current_hash": current,
        "recorded_hash": recorded.doc_hash if recorded else None,
        "anchored_hash": anchored[0].doc_hash if anchored else None,
        "anchored_version": anchored[0].version if anchored else None,
    }
    if recorded is None:
        return IntegrityReport(status="unrecorded", **base)
    problem = _stored_problem(recorded, anchored)
    if problem:
        return IntegrityReport(status="tampered", reason=problem, **base)
    if current == recorded.doc_hash:
        return IntegrityReport(status="intact", **base)
    if change_queued(session, lot_id):
        return IntegrityReport(status="changing", **base)
    return IntegrityReport(status="tampered", reason=DIFFERS, **base)


def _stored_problem(recorded, anchored) -> str | None:  # type: ignore[no-untyped-def]
    if document_hash(json.loads(recorded.canonical_json)).hex() != recorded.doc_hash:
        return "a stored document version was edited"
    if anchored is not None and not _leads_to_root(*anchored):
        return "the anchored version no longer leads to its round's root"
    return None


def _leads_to_root(document: LotDocument, anchor: AnchorRound) -> bool:
    """Whether the anchored version's hash and stored proof give its round's root."""
    leaf = leaf_hash(bytes.fromhex(document.doc_hash))
    proof = [bytes.fromhex(step) for step in document.lot_proof or []]
    return process_proof(leaf, proof).hex() == anchor.root


@dataclass(frozen=True)
class SweepReport:
    """One slice of an integrity sweep: lots checked, lots found tampered, where to go on."""

    checked: int
    tampered: list[int]
    next_after: int | None


def sweep_integrity(
    session: Session, after_id: int = 0, limit: int = 500, until_id: int | None = None
) -> SweepReport:
    """Check every lot that has a recorded document, ``limit`` lots at a time by id.

    The slice's lots are read together first (:func:`_intact_in_one_read`); a lot that
    read does not show intact goes through :func:`check_integrity`, which alone decides
    (and marks) anything else. Each lot found intact is announced
    (:func:`trace.extensions.lot_verified`: ``stamps`` then shares its story for the day, so
    the day's first scan of it checks nothing). What the listeners write is committed every
    :data:`SHARE_COMMIT_SECONDS` and at the end: a write lock held for the rest of the
    slice (seconds) would stall the scans' writes on SQLite, and a commit per lot waits for
    a WAL flush per lot (most of a cold sweep's time on PostgreSQL).

    :param after_id: start with the lots whose id is greater (0: from the start).
    :param until_id: stop after this lot id (None: no end).
    :returns: the slice's findings; ``next_after`` is None when the range is done.
    """
    lot_ids = documented_lots(session, after_id, until_id, limit)
    intact = _intact_in_one_read(session, lot_ids)
    tampered: list[int] = []
    written: float | None = None  # when the oldest uncommitted share was written
    for lot_id in lot_ids:
        status = "intact" if lot_id in intact else check_integrity(session, lot_id).status
        if status == "tampered":
            tampered.append(lot_id)
        elif status == "intact" and lot_verified(session, lot_id) and written is None:
            written = time.monotonic()
        if written is not None and time.monotonic() - written >= SHARE_COMMIT_SECONDS:
            session.commit()
            written = None
    if written is not None:
        session.commit()
    more = len(lot_ids) == limit and lot_ids[-1] != until_id
    return SweepReport(len(lot_ids), tampered, lot_ids[-1] if more else None)


def sweep_range(session: Session, after_id: int, until_id: int, limit: int = 500) -> SweepReport:
    """Check every lot with a recorded document in ``after_id < id <= until_id``
    (:func:`sweep_integrity`, ``limit`` lots at a time); ``next_after`` is None."""
    checked, tampered = 0, list[int]()
    start: int | None = after_id
    while start is not None:
        part = sweep_integrity(session, start, limit, until_id)
        checked, tampered, start = checked + part.checked, tampered + part.tampered, part.next_after
    return SweepReport(checked, tampered, None)


def documented_lots(
    session: Session, after_id: int, until_id: int | None = None, limit: int | None = None
) -> list[int]:
    """The ids of the lots with a recorded document in ``after_id < id <= until_id`` (no
    end when None), in order, at most ``limit`` of them (all when None)."""
    statement = select(LotDocument.lot_id).where(col(LotDocument.lot_id) > after_id)
    if until_id is not None:
        statement = statement.where(col(LotDocument.lot_id) <= until_id)
    statement = statement.group_by(col(LotDocument.lot_id)).order_by(col(LotDocument.lot_id))
    return list(session.exec(statement if limit is None else statement.limit(limit)))


def sweep_slices(session: Session, size: int, after_id: int = 0) -> list[tuple[int, int]]:
    """Cut the lots that have a recorded document (ids above ``after_id``) into ranges of
    ``size`` lots: ``(after, until)`` pairs, each for :func:`sweep_integrity`
    (``after < lot id <= until``), in order, covering every such lot once.
    """
    lot_ids = documented_lots(session, after_id)
    ends = [*lot_ids[size - 1 :: size]]
    if lot_ids and (not ends or ends[-1] != lot_ids[-1]):
        ends.append(lot_ids[-1])
    return list(zip([after_id, *ends[:-1]], ends, strict=True))


def sweep_chains(session: Session, chains: int, after_id: int = 0) -> list[tuple[int, int]]:
    """Cut the lots that have a recorded document (ids above ``after_id``) into ``chains``
    contiguous ranges of nearly equal size (fewer when there are fewer lots):
    ``(after, until)`` pairs, each for :func:`sweep_integrity` (``after < lot id <=
    until``), in order, covering every such lot once.
    """
    lot_ids = documented_lots(session, after_id)
    parts = min(chains, len(lot_ids))
    ends = [lot_ids[(part + 1) * len(lot_ids) // parts - 1] for part in range(parts)]
    return list(zip([after_id, *ends[:-1]], ends, strict=True))


def _intact_in_one_read(session: Session, lot_ids: list[int]) -> set[int]:
    """The lots among ``lot_ids`` that one consistent read shows intact.

    The same conditions as :func:`check_integrity`'s ``intact`` (a recorded version whose
    text is the canonical document the data gives now, whose hash is that text's, whose
    anchored version leads to its round's root, and no earlier tamper mark), with six
    queries for the whole slice instead of ten per lot. Hashing the data's canonical text
    once also checks the stored text: it is the same text. Anything else is left to
    :func:`check_integrity`.
    """
    if not lot_ids:
        return set()
    # Documents are built while the snapshot's session is open, as refresh_document does.
    with snapshot(session.get_bind()) as consistent:
        versions = _versions(consistent, lot_ids)
        return {
            lot_id
            for lot_id, facts in gather_facts(consistent, lot_ids).items()
            if _intact(facts, *versions.get(lot_id, (None, None)))
        }


def _intact(
    facts: LotFacts,
    recorded: LotDocument | None,
    anchored: tuple[LotDocument, AnchorRound] | None,
) -> bool:
    if recorded is None or facts.lot.tampered_at is not None:
        return False
    text, digest = encoded(lot_document(facts, document_schema(recorded)))
    if text != recorded.canonical_json or digest != recorded.doc_hash:
        return False
    return anchored is None or _leads_to_root(*anchored)


def _versions(
    session: Session, lot_ids: list[int]
) -> dict[int, tuple[LotDocument, tuple[LotDocument, AnchorRound] | None]]:
    """Each lot's newest recorded version and its newest version in a confirmed round."""
    rows = session.exec(
        select(LotDocument, AnchorRound)
        .join(AnchorRound, col(AnchorRound.id) == LotDocument.round_id, isouter=True)
        .where(col(LotDocument.lot_id).in_(lot_ids))
        .order_by(col(LotDocument.lot_id), col(LotDocument.version))
    )
    found: dict[int, tuple[LotDocument, tuple[LotDocument, AnchorRound] | None]] = {}
    for document, anchor in rows:
        anchored = found.get(document.lot_id, (document, None))[1]
        if anchor is not None and anchor.status == RoundStatus.CONFIRMED:
            anchored = (document, anchor)
        found[document.lot_id] = (document, anchored)
    return found

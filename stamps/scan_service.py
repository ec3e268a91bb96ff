"""The scan service: one transaction per scan (find the stamp, count the view, build the
answer, commit), for the full scan view and for the hot path's driver-level statements."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from stamps.clone_rules import MAX_SCANS
from stamps.identity import StampKey
from stamps.models import StampStatus
from stamps.places import Place
from stamps.report import LotStory, StoryCache, lot_story, scan_report
from stamps.scanning import SCAN_WINDOW, StampFacts, find_stamp, record_scan

if TYPE_CHECKING:
    from stamps.hotpath.scan_buffer import ScanBuffer
    from stamps.hotpath.statements import ScanStatements


@dataclass(frozen=True)
class Visit:
    """Who looked at a stamp: a client (salted address hash), its agent and a shared place."""

    client_hash: str
    user_agent: str
    place: Place | None = None


@dataclass(frozen=True)
class ScannedStamp:
    """What a scan found: the stamp's facts, its lot's story, the report and the scan id."""

    facts: StampFacts
    story: LotStory
    report: dict[str, Any]
    scan_id: int | None  # None for a preview (a crawler or a HEAD request): not a scan


def scan_stamp(
    session: Session,
    key: StampKey,
    base_url: str,
    stories: StoryCache,
    visit: Visit | None,
    window: timedelta = SCAN_WINDOW,
    today: date | None = None,
) -> ScannedStamp | None:
    """Find the stamp ``key`` names, count ``visit`` as a scan, report it, and commit.

    The lot's story is read first: reading it afresh may find the lot tampered (and record
    that) before this scan is counted and judged. The commit is the last database work, so
    a scan whose answer could not be built is not counted.

    :param visit: the client's view, or None for a preview (nothing is counted).
    :param window: how long one client's views of a stamp make one scan.
    :returns: None when no stamp of ours has this serial, GTIN and lot (nothing written).
    """
    facts = find_stamp(session, key)
    if facts is None:
        return None
    today = today or date.today()
    story = lot_story(session, facts.lot, facts.producer.id, today, stories)  # type: ignore[arg-type]
    scan_id = None
    if visit is not None:
        scan_id = record_scan(
            session, facts, visit.client_hash, visit.user_agent, visit.place, window=window
        )
    report = scan_report(session, facts, base_url, today, story)
    session.commit()
    return ScannedStamp(facts, story, report, scan_id)


def count_prebuilt_scan(
    statements: ScanStatements,
    conn: Any,
    cursor: Any,
    stamp: dict[str, Any],
    visit: Visit,
    now: datetime,
    buffer: ScanBuffer | None = None,
    since: datetime | None = None,
    epoch: int = 0,
) -> int | None:
    """Count a client's view with the hot path's prebuilt statements, and commit.

    A repeat view (the same client within the scan window: ``stamp["last_scan_id"]``, read
    with the stamp) writes nothing. ``stamp`` is the hot path's row
    (:data:`stamps.hotpath.statements.FIND_STAMP`); its ``scan_count`` and ``first_scan_at``
    are updated to what the counted scan left.

    :param conn: the DBAPI connection ``cursor`` belongs to (committed here).
    :param buffer: the worker's unwritten scans (PostgreSQL, ``SCAN_WRITE_BATCH`` > 1): the
        scan is added to it, to be written with its batch (:mod:`stamps.hotpath.scan_buffer`),
        and the repeat view and the rules' count take its scans into account.
    :param since: the scan window's start; ``epoch``: the buffer's ``epoch`` when ``stamp``
        was read (both only with ``buffer``).
    :returns: the scan's id (new or repeated), or None when the clone rules could fire
        (a VOID stamp, a count past the product's limit): :func:`scan_stamp` applies them.
    """
    if buffer is not None and since is not None:
        agent = visit.user_agent
        return buffer.record(
            cursor, stamp, visit.client_hash, agent, now, since, epoch, _rules_could_fire
        )
    if stamp["last_scan_id"] is not None:
        return int(stamp["last_scan_id"])
    if _rules_could_fire(stamp):
        return None
    values = {
        "stamp": stamp["stamp_id"],
        "now": now,
        "client": visit.client_hash,
        "agent": visit.user_agent[:200],
    }
    if statements.record_scan is not None:  # one statement
        scan_id, *counted = statements.one(cursor, statements.record_scan, values)[:3]
        conn.commit()
    elif statements.insert_scan is not None and statements.count_scan is not None:
        lock = statements.write_lock
        with lock.held() if lock is not None else nullcontext():
            (scan_id,) = statements.one(cursor, statements.insert_scan, values)
            counted = statements.one(cursor, statements.count_scan, values)
            conn.commit()
    stamp["scan_count"], stamp["first_scan_at"] = counted
    return int(scan_id)


def _rules_could_fire(stamp: Mapping[str, Any]) -> bool:
    limit = stamp["scan_limit"] or MAX_SCANS
    return bool(stamp["status"] == StampStatus.VOID or stamp["scan_count"] + 1 > limit)

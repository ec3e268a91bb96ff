"""Inspections: an inspector's result on a lot, recorded as an ``inspection`` event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from trace.errors import Forbidden, NotFound
from trace.i18n import _l
from trace.models import Event, EventKind, Lot, Role
from trace.services.access import Actor
from trace.services.changes import mark_lot_changed
from trace.services.checks import Checks
from trace.services.events import INSPECTION_RESULTS, to_utc_columns
from trace.services.holdings import store_certificate_pdf
from trace.uploads import PDF, check_upload

MAX_REPORT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Inspection:
    """An inspection as an inspector submits it."""

    result: str
    notes: str = ""
    place: str = ""
    report_pdf: bytes | None = None


def record_inspection(
    session: Session,
    actor: Actor,
    lot_id: int,
    inspection: Inspection,
    when: datetime,
    upload_folder: str,
) -> Event:
    """Append an inspection event to a lot and queue a new anchored document version.

    The optional PDF is stored by sha256; the event carries the digest.

    :raises Forbidden: the actor is not an inspector or administrator.
    :raises NotFound: unknown lot.
    :raises ValidationError: a result other than pass/fail, long notes, a file that is
        not a PDF or is larger than 5 MB.
    """
    if actor.role not in (Role.INSPECTOR, Role.ADMIN):
        raise Forbidden(_l("Only inspectors record inspections."))
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound()
    checks = Checks()
    result = checks.choice("result", inspection.result, INSPECTION_RESULTS)
    notes = checks.text("notes", inspection.notes, 1000, required=False)
    place = checks.text("place", inspection.place, 200, required=False)
    _check_pdf(checks, inspection.report_pdf)
    checks.done()
    details = {"result": result}
    if inspection.report_pdf is not None:
        details["report_sha256"] = store_certificate_pdf(upload_folder, inspection.report_pdf)
    occurred_at, offset = to_utc_columns(when)
    event = Event(
        lot_id=lot_id,
        producer_id=lot.producer_id,
        kind=EventKind.INSPECTION,
        occurred_at=occurred_at,
        tz_offset_minutes=offset,
        place=place,
        recorded_by_id=actor.user_id,
        note=notes,
        details=details,
    )
    session.add(event)
    mark_lot_changed(session, lot_id)
    session.commit()
    return event


def _check_pdf(checks: Checks, content: bytes | None) -> None:
    if content is None:
        return
    if len(content) > MAX_REPORT_BYTES:
        checks.fail("report", _l("The file is larger than %(n)d MB.", n=5))
    else:
        check_upload(checks, "report", content, (PDF,), _l("The file is not a PDF document."))

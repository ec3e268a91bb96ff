"""Supply-chain events: append-only records on a lot, corrected by superseding events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from trace.i18n import _l
from trace.models import Event, EventKind, Lot
from trace.models.base import stored_id
from trace.services.access import Actor, owned, producer_for_change
from trace.services.captured_events import CapturedEntry, captured_entries, utc
from trace.services.changes import mark_lot_changed
from trace.services.checks import Checks

RECORDABLE = tuple(kind for kind in EventKind if kind != EventKind.TRANSFORMATION)
INSPECTION_RESULTS = ("pass", "fail")


@dataclass(frozen=True)
class NewEvent:
    """An event as a farmer or inspector enters it; ``details`` depend on the kind."""

    kind: str
    occurred_at: datetime | None
    place: str
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    supersedes_id: int | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """An event as shown on the lot page, with its correction status.

    ``event`` is a registry event or an EPCIS event captured for the lot
    (:class:`~trace.services.captured_events.CapturedEntry`, ``captured`` is True).
    """

    event: Event | CapturedEntry
    superseded_by: int | None

    @property
    def local_time(self) -> datetime:
        return local_time(self.event)

    @property
    def captured(self) -> bool:
        return isinstance(self.event, CapturedEntry)


def to_utc_columns(moment: datetime) -> tuple[datetime, int]:
    """Split an aware time into UTC and its offset in minutes (how events store it)."""
    offset = moment.utcoffset() or timedelta(0)
    return moment.astimezone(UTC), int(offset.total_seconds() // 60)


def local_time(event: Event | CapturedEntry) -> datetime:
    """The event's time in the time zone it was recorded in."""
    zone = timezone(timedelta(minutes=event.tz_offset_minutes))
    return event.occurred_at.astimezone(zone)


def record_event(session: Session, actor: Actor, lot_id: int, new: NewEvent) -> Event:
    """Append an event to one of the actor's lots.

    :raises NotFound: unknown or another producer's lot.
    :raises ValidationError: unknown kind, a time without zone or in the future, missing
        details for the kind, or a correction of an event that is not this lot's latest
        version of it.
    """
    producer = producer_for_change(session, actor)
    lot = owned(session, actor, Lot, lot_id)
    checks = Checks()
    kind = checks.choice("kind", new.kind, RECORDABLE)
    when = checks.aware_time("occurred_at", new.occurred_at)
    if when is not None and when > datetime.now(UTC) + timedelta(minutes=5):
        checks.fail("occurred_at", _l("The time cannot be in the future."))
    place = checks.text("place", new.place, 200)
    note = checks.text("note", new.note, 1000, required=False)
    details = _checked_details(checks, kind, new.details)
    if new.supersedes_id:
        _check_supersedes(session, checks, lot, kind, new.supersedes_id)
    checks.done()
    assert when is not None
    occurred_at, offset = to_utc_columns(when)
    event = Event(
        lot_id=lot.id,  # type: ignore[arg-type]
        producer_id=producer.id,  # type: ignore[arg-type]
        kind=kind,
        occurred_at=occurred_at,
        tz_offset_minutes=offset,
        place=place,
        recorded_by_id=actor.user_id,
        supersedes_id=new.supersedes_id or None,
        note=note,
        details=details,
    )
    session.add(event)
    mark_lot_changed(session, lot_id)
    session.commit()
    return event


def _checked_details(checks: Checks, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if kind == EventKind.INPUT_APPLICATION:
        details["input_name"] = checks.text("input_name", raw.get("input_name"), 120)
        details["dose"] = checks.text("dose", raw.get("dose"), 60)
        details["phi_days"] = _whole_days(checks, "phi_days", raw.get("phi_days"))
    elif kind == EventKind.PLANTING:
        details["variety"] = checks.text("variety", raw.get("variety"), 120, required=False)
    elif kind == EventKind.COOLING:
        details["temperature_c"] = _optional_number(
            checks, "temperature_c", raw.get("temperature_c")
        )
    elif kind == EventKind.SHIPPING:
        details["destination"] = checks.text("destination", raw.get("destination"), 200)
    elif kind == EventKind.RECEIVING:
        details["source"] = checks.text("source", raw.get("source"), 200)
    elif kind == EventKind.INSPECTION:
        details["result"] = checks.choice("result", raw.get("result"), INSPECTION_RESULTS)
    return {key: value for key, value in details.items() if value not in ("", None)}


def _whole_days(checks: Checks, name: str, value: Any) -> int:
    try:
        days = int(str(value).strip())
    except ValueError:
        checks.fail(name, _l("Enter a whole number of days."))
        return 0
    if not 0 <= days <= 365:
        checks.fail(name, _l("Between 0 and 365 days."))
    return days


def _optional_number(checks: Checks, name: str, value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        checks.fail(name, _l("Enter a number."))
        return None


def _check_supersedes(session: Session, checks: Checks, lot: Lot, kind: str, event_id: int) -> None:
    earlier = session.get(Event, event_id)
    if earlier is None or earlier.lot_id != lot.id or earlier.kind != kind:
        checks.fail("supersedes_id", _l("A correction must replace an event of the same kind."))
    elif superseding_event(session, event_id) is not None:
        checks.fail("supersedes_id", _l("This event has already been corrected."))


def superseding_event(session: Session, event_id: int) -> Event | None:
    """The event that corrected ``event_id``, if any."""
    return session.exec(select(Event).where(Event.supersedes_id == event_id)).first()


# Built once: scan pages read timelines often (stamps.report.lot_story).
_TIMELINE = (
    select(Event).where(Event.lot_id == bindparam("lot")).order_by(Event.occurred_at, Event.id)  # type: ignore[arg-type]
)


def timeline(session: Session, lot_id: int) -> list[TimelineEntry]:
    """A lot's events in time order, each marked with the event that superseded it.

    EPCIS events captured for the lot (by its class, a stamp or its ILMD lot number) take
    their place in time among the registry's own.
    """
    events = list(session.exec(_TIMELINE, params={"lot": lot_id}))
    corrected = {e.supersedes_id: e.id for e in events if e.supersedes_id is not None}
    entries = [TimelineEntry(event, corrected.get(stored_id(event))) for event in events]
    captured = [TimelineEntry(entry, None) for entry in captured_entries(session, lot_id)]
    if not captured:
        return entries
    # Stable: registry events keep their order among themselves and come first on a tie.
    return sorted(entries + captured, key=lambda entry: utc(entry.event.occurred_at))


def registry_events(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """The entries that are the registry's own events (not captured ones)."""
    return [entry for entry in entries if not entry.captured]


def current_events(entries: list[TimelineEntry]) -> list[Event | CapturedEntry]:
    """The events still in force: those no later event superseded."""
    return [entry.event for entry in entries if entry.superseded_by is None]


@dataclass(frozen=True)
class PhiWarning:
    """An input applied too close to harvest: produce is safe only from ``safe_from``."""

    event: Event
    safe_from: date


def phi_warnings(lot: Lot, events: Sequence[Event | CapturedEntry]) -> list[PhiWarning]:
    """Input applications whose pre-harvest interval ends after the lot's harvest date."""
    warnings = []
    for event in events:
        if not isinstance(event, Event) or event.kind != EventKind.INPUT_APPLICATION:
            continue
        applied = local_time(event).date()
        safe_from = applied + timedelta(days=int(event.details.get("phi_days", 0)))
        if lot.harvest_date < safe_from:
            warnings.append(PhiWarning(event, safe_from))
    return warnings


def require_details(kind: str) -> tuple[str, ...]:
    """The detail fields a form shows for an event kind."""
    return {
        EventKind.INPUT_APPLICATION: ("input_name", "dose", "phi_days"),
        EventKind.PLANTING: ("variety",),
        EventKind.COOLING: ("temperature_c",),
        EventKind.SHIPPING: ("destination",),
        EventKind.RECEIVING: ("source",),
        EventKind.INSPECTION: ("result",),
    }.get(EventKind(kind), ())

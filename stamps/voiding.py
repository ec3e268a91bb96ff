"""Voiding damaged labels as printed: by run and label position or by serial, undoable.

A run's labels print in serial order (``stamps.label_sheet``), so label ``n`` of run
``r`` is the ``n``-th serial of that run. A void is chosen and previewed first
(:func:`labels_by_position`, :func:`labels_by_serial`), then applied to exactly the
previewed stamps (:func:`void_labels`); each void and each undo is a ``stamp_voids`` row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from stamps.identity import MalformedStampPath, normalize_serial, parse_stamp_path
from stamps.mint_runs import published
from stamps.minting import check_mass_balance
from stamps.models import Stamp, StampRun, StampStatus, StampVoid, StampVoidAction
from trace.errors import NotFound, ValidationError
from trace.extensions import product_changed
from trace.i18n import _l
from trace.models import Lot
from trace.models.base import utcnow
from trace.services.access import Actor, owned, producer_for_change
from trace.services.checks import Checks
from trace.services.lots import lock_lot

MAX_LABELS = 1_000
"""Labels one void may change (15 sheets of 65): more is more likely a mistake."""
LIVE = (StampStatus.ISSUED, StampStatus.ACTIVE)


@dataclass(frozen=True)
class Label:
    """A printed label: its stamp, where it is on the run's sheets, its current status."""

    stamp_id: int
    serial: str
    run_id: int
    position: int  # 1-based, in the run's print order
    status: str

    @property
    def voidable(self) -> bool:
        """Only issued and active stamps can be voided (recalled ones stay recalled)."""
        return self.status in LIVE


def labels_by_position(
    session: Session, actor: Actor, lot_id: int, run_id: Any, first: Any, last: Any = None
) -> list[Label]:
    """The labels ``first`` to ``last`` (inclusive, 1-based; none: ``first`` only) of a lot run.

    :raises NotFound: unknown or another producer's lot.
    :raises ValidationError: a run that is not the lot's, positions that are not whole
        numbers within the run, or more than :data:`MAX_LABELS` labels.
    """
    producer_for_change(session, actor)
    owned(session, actor, Lot, lot_id)
    checks = Checks()
    run = _run_of_lot(checks, session, lot_id, run_id)
    count = run.count if run else MAX_LABELS
    start, end = (_position(checks, name, value, count) for name, value in _ends(first, last))
    if start and end and start > end:
        checks.fail("last_label", _l("The last label must not come before the first."))
    elif start and end and end - start + 1 > MAX_LABELS:
        checks.fail("last_label", _l("At most %(n)s labels at a time.", n=f"{MAX_LABELS:,}"))
    checks.done()
    assert run is not None and start and end
    statement = (
        select(col(Stamp.id), Stamp.serial, Stamp.status)
        .where(Stamp.lot_id == lot_id, Stamp.run_id == run.id)
        .order_by(col(Stamp.serial))
        .offset(start - 1)
        .limit(end - start + 1)
    )
    rows = session.exec(statement).all()
    return [
        Label(i, serial, run.id, start + n, status)  # type: ignore[arg-type]
        for n, (i, serial, status) in enumerate(rows)
    ]


def _ends(first: Any, last: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
    return ("first_label", first), ("last_label", last if str(last or "").strip() else first)


def _run_of_lot(checks: Checks, session: Session, lot_id: int, run_id: Any) -> StampRun | None:
    run = session.get(StampRun, _whole(run_id) or 0)
    if run is None or run.lot_id != lot_id or run.pending_until is not None:  # still minting
        checks.fail("run", _l("Choose one of this lot's runs."))
        return None
    return run


def _position(checks: Checks, field: str, value: Any, count: int) -> int | None:
    number = _whole(value)
    if number is None or not 1 <= number <= count:
        checks.fail(field, _l("A label number from 1 to %(n)s.", n=f"{count:,}"))
        return None
    return number


def _whole(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def labels_by_serial(session: Session, actor: Actor, lot_id: int, typed: str) -> list[Label]:
    """The labels whose serials (or scanned stamp links) are typed one per line.

    :raises NotFound: unknown or another producer's lot.
    :raises ValidationError: no serial, more than :data:`MAX_LABELS`, or lines that are
        not serials of this lot (each named).
    """
    producer_for_change(session, actor)
    lot = owned(session, actor, Lot, lot_id)
    lines = [line.strip() for line in (typed or "").splitlines() if line.strip()]
    if not lines:
        raise ValidationError({"serials": _l("Type or scan at least one serial.")})
    if len(lines) > MAX_LABELS:
        raise ValidationError(
            {"serials": _l("At most %(n)s labels at a time.", n=f"{MAX_LABELS:,}")}
        )
    wanted = {line: _serial_of_line(line) for line in lines}
    found = _labels_with_positions(session, lot, {s for s in wanted.values() if s})
    by_serial = {label.serial: label for label in found}
    unknown = [line for line, serial in wanted.items() if serial not in by_serial]
    if unknown:
        raise ValidationError(
            {
                "serials": _l(
                    "Not a stamp of this lot: %(lines)s",
                    lines=", ".join(line[:40] for line in unknown[:10]),
                )
            }
        )
    return sorted(by_serial.values(), key=lambda label: (label.run_id, label.position))


def _serial_of_line(line: str) -> str | None:
    """A typed serial (any grouping) or the serial of a scanned stamp link."""
    if "/" in line:
        try:
            return parse_stamp_path(line).serial
        except MalformedStampPath:
            return None
    return normalize_serial(line)


def _labels_with_positions(session: Session, lot: Lot, serials: set[str]) -> list[Label]:
    """The lot's stamps among ``serials``, each with its position in its run's print order."""
    if not serials:
        return []
    runs = (
        select(Stamp.run_id)
        .join(StampRun, col(StampRun.id) == Stamp.run_id)
        .where(Stamp.lot_id == lot.id, col(Stamp.serial).in_(serials), published())
        .distinct()
    )
    position = func.row_number().over(partition_by=col(Stamp.run_id), order_by=col(Stamp.serial))
    ranked = (
        select_columns(
            col(Stamp.id),
            col(Stamp.serial),
            col(Stamp.run_id),
            position.label("position"),
            col(Stamp.status),
        )
        .where(col(Stamp.lot_id) == lot.id, col(Stamp.run_id).in_(runs))
        .subquery()
    )
    rows = session.execute(select_columns(ranked).where(ranked.c.serial.in_(serials))).all()
    return [Label(*row) for row in rows]


def void_labels(session: Session, actor: Actor, lot_id: int, previewed: list[Label]) -> StampVoid:
    """Void exactly the previewed labels, if none has changed since the preview.

    Labels previewed as already void or recalled are left as they are.

    :raises NotFound: unknown or another producer's lot.
    :raises ValidationError: nothing to void, or a label whose status changed since the
        preview (nothing is voided then; preview again).
    """
    producer_for_change(session, actor)
    owned(session, actor, Lot, lot_id)
    labels = [label for label in previewed if label.voidable]
    if not labels:
        raise ValidationError({"labels": _l("None of these labels can be voided.")})
    lock_lot(session, lot_id)  # minting, activation and undo lock it too
    ids = [label.stamp_id for label in labels]
    result = session.execute(
        update(Stamp)
        .where(col(Stamp.lot_id) == lot_id, col(Stamp.id).in_(ids))
        .where(*[_unchanged(label) for label in _by_status(labels)])
        .values(status=StampStatus.VOID)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):  # type: ignore[attr-defined]
        session.rollback()
        raise ValidationError(
            {"labels": _l("Some of these labels changed since the preview. Check them again.")}
        )
    return _record(session, actor, lot_id, StampVoidAction.VOID, labels, None)


def _by_status(labels: list[Label]) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for label in labels:
        groups.setdefault(label.status, []).append(label.stamp_id)
    return list(groups.items())


def _unchanged(group: tuple[str, list[int]]) -> Any:
    """Stamps outside the group's ids, or with the status they were previewed with."""
    status, ids = group
    return (col(Stamp.id).not_in(ids)) | (col(Stamp.status) == status)


def undo_void(
    session: Session, actor: Actor, void_id: int, window: timedelta, now: datetime | None = None
) -> StampVoid:
    """Give a void's labels back the status they had, within ``window`` of the void.

    Labels voided again since, or whose lot was recalled since, are not restored (the
    recall's stamps stay RECALLED). Restoring active labels must stay within the lot's
    mass balance.

    :raises NotFound: unknown void, an undo, or another producer's.
    :raises ValidationError: already undone, or the window has passed.
    """
    producer_for_change(session, actor)
    void = session.get(StampVoid, void_id)
    if void is None or void.action != StampVoidAction.VOID:
        raise NotFound()
    owned(session, actor, Lot, void.lot_id)
    lot = lock_lot(session, void.lot_id)
    labels = [Label(**entry) for entry in void.stamps]
    try:
        _check_undoable(session, void, window, now or utcnow())
        _check_room(session, lot, labels)
    except ValidationError:
        session.rollback()  # let the lot go
        raise
    status = StampStatus.RECALLED if lot.recalled_at else None
    restored = [_restore(session, lot.id, label, status) for label in labels]  # type: ignore[arg-type]
    kept = [label for label in restored if label is not None]
    try:
        return _record(session, actor, lot.id, StampVoidAction.UNDO, kept, void.id)  # type: ignore[arg-type]
    except IntegrityError:  # another request undid it first
        session.rollback()
        raise ValidationError({"undo": _l("This void has already been undone.")}) from None


def _check_undoable(session: Session, void: StampVoid, window: timedelta, now: datetime) -> None:
    if void_undo(session, void.id) is not None:  # type: ignore[arg-type]
        raise ValidationError({"undo": _l("This void has already been undone.")})
    if now - void.created_at > window:
        hours = int(window.total_seconds() // 3600)
        raise ValidationError(
            {
                "undo": _l(
                    "A void can only be undone within %(hours)s hours; this one is older. "
                    "Mint new stamps for these products instead.",
                    hours=hours,
                )
            }
        )


def _check_room(session: Session, lot: Lot, labels: list[Label]) -> None:
    """Restored labels count against the lot again (mass balance)."""
    sizes = _pack_sizes(session, {label.run_id for label in labels})
    every = sum((sizes[label.run_id] for label in labels), Decimal(0))
    active = sum(
        (sizes[label.run_id] for label in labels if label.status == StampStatus.ACTIVE),
        Decimal(0),
    )
    check_mass_balance(session, lot, StampStatus.ISSUED, every)
    if active:
        check_mass_balance(session, lot, StampStatus.ACTIVE, active)


def _pack_sizes(session: Session, run_ids: set[int]) -> dict[int, Decimal]:
    statement = select(col(StampRun.id), col(StampRun.pack_size)).where(
        col(StampRun.id).in_(run_ids)
    )
    sizes: dict[int, Decimal] = {}
    for run_id, size in session.exec(statement):
        assert run_id is not None  # a primary key
        sizes[run_id] = size
    return sizes


def _restore(session: Session, lot_id: int, label: Label, status: str | None) -> Label | None:
    back = status or label.status
    result = session.execute(
        update(Stamp)
        .where(
            col(Stamp.lot_id) == lot_id,
            col(Stamp.id) == label.stamp_id,
            col(Stamp.status) == StampStatus.VOID,
        )
        .values(status=back)
        .execution_options(synchronize_session=False)
    )
    restored = bool(result.rowcount)  # type: ignore[attr-defined]
    return (
        Label(label.stamp_id, label.serial, label.run_id, label.position, back)
        if restored
        else None
    )


def _record(
    session: Session,
    actor: Actor,
    lot_id: int,
    action: StampVoidAction,
    labels: list[Label],
    undoes_id: int | None,
) -> StampVoid:
    entry = StampVoid(
        lot_id=lot_id,
        action=action,
        undoes_id=undoes_id,
        stamps=[asdict(label) for label in labels],
        actor_id=actor.user_id,
    )
    session.add(entry)
    lot = session.get(Lot, lot_id)
    assert lot is not None
    # Void stamps no longer bound the stock listed on marketplaces: resync it.
    product_changed(session, lot.product_id)
    session.commit()
    return entry


def void_undo(session: Session, void_id: int) -> StampVoid | None:
    """The undo of a void, if it was undone."""
    return session.exec(select(StampVoid).where(StampVoid.undoes_id == void_id)).first()


def recent_voids(session: Session, lot_id: int, limit: int = 20) -> list[tuple[StampVoid, bool]]:
    """The lot's latest voids, newest first, each with whether it was undone."""
    undone = select(StampVoid.undoes_id).where(col(StampVoid.undoes_id).is_not(None))
    statement = (
        select(StampVoid, col(StampVoid.id).in_(undone))
        .where(StampVoid.lot_id == lot_id, StampVoid.action == StampVoidAction.VOID)
        .order_by(col(StampVoid.id).desc())
        .limit(limit)
    )
    return [(void, bool(was_undone)) for void, was_undone in session.exec(statement)]

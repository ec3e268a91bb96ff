"""Inspectors review clone flags; admins set the clone rules' limits; consumers read what
a flag means.

A dismissed flag stops counting: the stamp's ``flagged`` (and so its SUSPICIOUS verdict)
holds only while some flag is open or confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists
from sqlmodel import Session, col, select

from stamps.clone_rules import DEFAULT_LIMITS, CloneLimits, limits_from
from stamps.models import CloneThreshold, FlagReview, FlagRule, Stamp, StampFlag
from stamps.scanning import flags_of
from trace.errors import Forbidden, NotFound, ValidationError
from trace.i18n import _l
from trace.models import Lot, Product, Role
from trace.models.base import utcnow
from trace.services.access import Actor
from trace.services.checks import Checks

DECISIONS = (str(FlagReview.CONFIRMED), str(FlagReview.DISMISSED))
#: Upper bounds an admin may set (a mistyped extra zero should not silence a rule).
LIMIT_RANGES: dict[str, tuple[float, float]] = {
    "max_scans": (2, 100_000),
    "max_travel_kmh": (50, 5_000),
    "min_travel_km": (1, 2_000),
}


@dataclass(frozen=True)
class FlagNote:
    """What a flag means, in plain words for a consumer, and whether it was reviewed."""

    rule: str
    meaning: Any
    confirmed: bool


def flag_notes(session: Session, stamp: Stamp) -> list[FlagNote]:
    """The flags that hold against a stamp, explained (none for an unflagged stamp)."""
    if not stamp.flagged:
        return []
    return [
        FlagNote(f.rule, explain(f), f.review == FlagReview.CONFIRMED)
        for f in flags_of(session, stamp.id)  # type: ignore[arg-type]
    ]


def explain(flag: StampFlag) -> Any:
    """A flag's meaning for a consumer, in the current language (lazy)."""
    detail = flag.detail
    if flag.rule == FlagRule.IMPOSSIBLE_TRAVEL:
        return _l(
            "Two different phones scanned this same label %(km)s km apart (%(from)s and "
            "%(to)s) within %(minutes)s minutes. One label cannot travel that fast, so one of "
            "the packs may carry a copy.",
            km=detail.get("km", "?"),
            minutes=detail.get("minutes", "?"),
            **{"from": detail.get("from") or "?", "to": detail.get("to") or "?"},
        )
    if flag.rule == FlagRule.SCAN_THRESHOLD:
        return _l(
            "This label has been scanned %(scans)s times by different phones or on different "
            "occasions, more than one pack normally is (limit %(threshold)s). It may have "
            "been copied onto other packs.",
            scans=detail.get("scans", "?"),
            threshold=detail.get("threshold", "?"),
        )
    return _l("This label was scanned after its producer cancelled it.")


# --- reviews ----------------------------------------------------------------------------


def review_flag(
    session: Session, actor: Actor, flag_id: int, decision: str, note: str
) -> StampFlag:
    """Record an inspector's decision on a flag and update the stamp's verdict; commits.

    A confirmed flag keeps the stamp SUSPICIOUS; a dismissed one stops counting, so the
    stamp reads GENUINE again unless another flag holds (or new evidence flags it anew).
    A decision may be changed by a later review.

    :raises Forbidden: the actor is not an inspector or administrator.
    :raises NotFound: no such flag.
    :raises ValidationError: an unknown decision, or no note (or one over 1,000 characters).
    """
    if actor.role not in (Role.INSPECTOR, Role.ADMIN):
        raise Forbidden(_l("Only inspectors review flags."))
    flag = session.get(StampFlag, flag_id)
    if flag is None:
        raise NotFound()
    checks = Checks()
    decision = checks.choice("decision", decision, DECISIONS)
    note = checks.text("note", note, 1000)
    checks.done()
    flag.review, flag.review_note = decision, note
    flag.reviewed_by_id, flag.reviewed_at = actor.user_id, utcnow()
    session.add(flag)
    session.flush()
    _refresh_flagged(session, flag.stamp_id)
    session.commit()
    session.refresh(flag)
    return flag


def holding() -> ColumnElement[bool]:
    """The flags that still count against their stamp: open or confirmed, not dismissed."""
    return col(StampFlag.review) != FlagReview.DISMISSED


def _refresh_flagged(session: Session, stamp_id: int) -> None:
    stamp = session.get(Stamp, stamp_id)
    assert stamp is not None
    holds = exists().where(col(StampFlag.stamp_id) == stamp_id, holding())
    stamp.flagged = bool(session.exec(select(holds)).one())  # type: ignore[call-overload]
    session.add(stamp)


def flags_query(actor: Actor, review: str | None = None, rule: str | None = None) -> Select[Any]:
    """Flags with their stamp, lot and product, newest first; a farmer sees only their own."""
    statement = (
        select(StampFlag, Stamp, Lot, Product)
        .join(Stamp, col(Stamp.id) == StampFlag.stamp_id)
        .join(Lot, col(Lot.id) == Stamp.lot_id)
        .join(Product, col(Product.id) == Lot.product_id)
    )
    if actor.role == Role.FARMER:
        statement = statement.where(Lot.producer_id == (actor.producer_id or -1))
    if review:
        statement = statement.where(StampFlag.review == review)
    if rule:
        statement = statement.where(StampFlag.rule == rule)
    return statement.order_by(col(StampFlag.id).desc())  # type: ignore[return-value]


# --- limits -----------------------------------------------------------------------------


def limits_of(session: Session, product_id: int | None) -> CloneLimits:
    """The limits the rules apply to a product's stamps (None: the province default)."""
    default = _row(session, None)
    own = _row(session, product_id) if product_id is not None else None
    return limits_from(own, default)


def threshold_rows(session: Session) -> list[CloneThreshold]:
    """Every limit an admin set: the province default first, then per product."""
    statement = select(CloneThreshold).order_by(
        col(CloneThreshold.product_id).is_not(None), col(CloneThreshold.product_id)
    )
    return list(session.exec(statement))


def set_limits(
    session: Session, actor: Actor, product_id: int | None, values: dict[str, Any]
) -> CloneThreshold:
    """Set the clone limits of a product, or the province default (``product_id`` None);
    a limit given as None falls back to the default. Commits.

    :raises Forbidden: the actor is not an administrator.
    :raises NotFound: no such product.
    :raises ValidationError: a limit outside :data:`LIMIT_RANGES`.
    """
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("Only administrators set the clone rules' limits."))
    if product_id is not None and session.get(Product, product_id) is None:
        raise NotFound()
    _check_limits(values)
    row = _row(session, product_id) or CloneThreshold(product_id=product_id)
    for name in LIMIT_RANGES:
        if name in values:
            setattr(row, name, values[name])
    row.updated_by_id, row.updated_at = actor.user_id, utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def clear_limits(session: Session, actor: Actor, product_id: int) -> None:
    """Drop a product's own limits: the province default applies again. Commits.

    :raises Forbidden: the actor is not an administrator.
    :raises NotFound: the product has no limits of its own.
    """
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("Only administrators set the clone rules' limits."))
    row = _row(session, product_id)
    if row is None:
        raise NotFound()
    session.delete(row)
    session.commit()


def _check_limits(values: dict[str, Any]) -> None:
    errors = {}
    for name, (low, high) in LIMIT_RANGES.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            errors[name] = _l("Between %(low)s and %(high)s.", low=f"{low:g}", high=f"{high:,g}")
    if errors:
        raise ValidationError(errors)


def _row(session: Session, product_id: int | None) -> CloneThreshold | None:
    column = col(CloneThreshold.product_id)
    where = column.is_(None) if product_id is None else column == product_id
    return session.exec(select(CloneThreshold).where(where).limit(1)).first()


__all__ = ["DEFAULT_LIMITS", "FlagNote", "flag_notes", "review_flag", "set_limits"]

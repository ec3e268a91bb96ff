"""Lots (batches): creation, transformation into new lots, and the lot graph."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from trace.errors import NotFound, ValidationError
from trace.extensions import product_changed
from trace.i18n import _l
from trace.models import Event, EventKind, Lot, LotInput, Plot, Product
from trace.models.base import stored_id
from trace.services.access import Actor, owned, producer_for_change
from trace.services.changes import mark_lot_changed
from trace.services.checks import Checks
from trace.services.holdings import PRODUCT_UNITS
from trace.services.mass_balance import remaining
from trace.services.quantities import convert, convertible, plain

_Owned = TypeVar("_Owned", Lot, Plot, Product)

MAX_QUANTITY = Decimal("1e10")
_THOUSANDTHS = Decimal("0.001")  # what a quantity column keeps


@dataclass(frozen=True)
class NewLot:
    """The fields of a lot as a farmer enters them."""

    product_id: int | None
    code: str
    harvest_date: date | None
    quantity: object
    unit: str
    plot_id: int | None = None


def create_lot(session: Session, actor: Actor, new: NewLot, today: date) -> Lot:
    """Record a harvest lot of one of the actor's products.

    :raises ValidationError: unknown product or plot, a lot code outside GS1 AI 10 or
        already used for the product, a future harvest date, a non-positive quantity.
    """
    producer = producer_for_change(session, actor)
    lot = _checked_lot(session, actor, new, today)
    lot.producer_id = producer.id  # type: ignore[assignment]
    session.add(lot)
    session.flush()
    mark_lot_changed(session, lot.id)  # type: ignore[arg-type]
    product_changed(session, lot.product_id)
    _commit_unique(session)
    return lot


def _checked_lot(session: Session, actor: Actor, new: NewLot, today: date) -> Lot:
    checks = Checks()
    product = _own_or_none(session, actor, Product, new.product_id)
    if product is None:
        checks.fail("product_id", _l("Choose one of your products."))
    if new.plot_id and _own_or_none(session, actor, Plot, new.plot_id) is None:
        checks.fail("plot_id", _l("Choose one of your plots."))
    code = checks.lot_code("code", new.code)
    checks.not_future("harvest_date", new.harvest_date, today)
    quantity = checks.positive("quantity", new.quantity, maximum=MAX_QUANTITY)
    unit = checks.choice("unit", new.unit, PRODUCT_UNITS)
    checks.done()
    assert product is not None and new.harvest_date is not None
    if _code_taken(session, stored_id(product), code):
        raise ValidationError({"code": _l("This lot code is already used for this product.")})
    return Lot(
        producer_id=product.producer_id,
        product_id=stored_id(product),
        plot_id=new.plot_id or None,
        code=code,
        harvest_date=new.harvest_date,
        quantity=quantity,
        unit=unit,
    )


def transform_lots(
    session: Session,
    actor: Actor,
    input_lot_ids: list[int],
    output: NewLot,
    occurred_at: datetime | None,
    place: str,
    today: date,
    declared_yield: object = None,
) -> Lot:
    """Make a new lot from input lots, recording a transformation event and the graph edges.

    The output lot's harvest date is the earliest of its inputs'. Mass balance: the output
    (divided by ``declared_yield``, default 1, for drying or milling) is drawn from the
    inputs' remaining quantities in the order given, under a lock on each input lot.

    :raises ValidationError: no inputs, an input that is not the actor's, a bad output lot,
        time, place or yield; an input whose unit does not convert to the output's; an
        output larger than its inputs have left. Nothing is recorded then.
    """
    producer = producer_for_change(session, actor)
    found = [_own_or_none(session, actor, Lot, lot_id) for lot_id in dict.fromkeys(input_lot_ids)]
    inputs = [lot for lot in found if lot is not None]
    if not inputs or len(inputs) < len(found):
        raise ValidationError({"input_lot_ids": _l("Choose one or more of your lots.")})
    earliest = min(lot.harvest_date for lot in inputs)
    lot = _checked_lot(session, actor, _with_harvest(output, earliest), today)
    checks = Checks()
    when = checks.aware_time("occurred_at", occurred_at)
    where = checks.text("place", place, 200)
    fraction = _yield(checks, declared_yield)
    checks.done()
    assert when is not None
    try:
        draws = _draw_inputs(session, [stored_id(source) for source in inputs], lot, fraction)
    except ValidationError:
        session.rollback()  # releases the input lots' locks; nothing was written
        raise
    session.add(lot)
    session.flush()
    refs = [lot_ref(session, source) for source in inputs]
    event = _transformation_event(lot, stored_id(producer), actor.user_id, when, where, refs)
    session.add(event)
    session.flush()
    lot_id, event_id = stored_id(lot), stored_id(event)
    for source in inputs:
        source_id = stored_id(source)
        session.add(
            LotInput(
                output_lot_id=lot_id,
                input_lot_id=source_id,
                event_id=event_id,
                quantity=draws[source_id],
            )
        )
    mark_lot_changed(session, lot_id)
    product_changed(session, lot.product_id)
    _commit_unique(session)
    return lot


def lock_lot(session: Session, lot_id: int) -> Lot:
    """Lock a lot's row until the transaction ends and return it as committed now.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite has one writer: a no-op write to the row
    makes this transaction the writer first, so what it reads next cannot change before
    it commits (a read first would see a snapshot another writer may already have passed).

    :raises NotFound: no such lot.
    """
    statement = select(Lot).where(Lot.id == lot_id)
    if session.get_bind().dialect.name == "sqlite":
        lots_table = Lot.__table__  # type: ignore[attr-defined]
        session.execute(
            update(lots_table)
            .where(lots_table.c.id == lot_id)
            .values(stamp_count=lots_table.c.stamp_count)
        )
    else:
        statement = statement.with_for_update()
    lot = session.exec(statement.execution_options(populate_existing=True)).first()
    if lot is None:
        raise NotFound()
    return lot


def _yield(checks: Checks, declared: object) -> Decimal:
    if declared is None or str(declared).strip() == "":
        return Decimal(1)
    try:
        fraction = Decimal(str(declared).strip())
    except (InvalidOperation, ValueError):
        fraction = Decimal(0)
    if not fraction.is_finite() or not Decimal(0) < fraction <= 1:
        checks.fail(
            "yield",
            _l("The yield is a fraction above 0 and at most 1 (0.7 when 100 kg give 70 kg)."),
        )
        return Decimal(1)
    return fraction


def _draw_inputs(
    session: Session, input_ids: list[int], output: Lot, fraction: Decimal
) -> dict[int, Decimal]:
    """Lock the inputs and take ``output.quantity / fraction`` from what they have left.

    :returns: each input's id and what it gives, in the input's own unit.
    """
    locked = {lot_id: lock_lot(session, lot_id) for lot_id in sorted(input_ids)}  # no deadlock
    inputs = [locked[lot_id] for lot_id in input_ids]
    for source in inputs:
        if not convertible(source.unit, output.unit):
            raise ValidationError({"unit": _unit_mismatch(source, output.unit)})
    needed = output.quantity / fraction
    left = {
        source.id: convert(remaining(session, source), source.unit, output.unit)
        for source in inputs
    }
    if sum(left.values(), Decimal(0)) < needed:
        raise ValidationError({"quantity": _too_much(left, output.unit, fraction)})
    draws: dict[int, Decimal] = {}
    for source in inputs:
        take = min(left[source.id], needed)
        needed -= take
        draws[source.id] = convert(take, output.unit, source.unit).quantize(  # type: ignore[index]
            _THOUSANDTHS, ROUND_HALF_UP
        )
    return draws


def _unit_mismatch(source: Lot, unit: str) -> object:
    return _l(
        "Lot %(code)s is counted in %(input_unit)s, which does not convert to %(unit)s: "
        "record the output in a unit its inputs share.",
        code=source.code,
        input_unit=source.unit,
        unit=unit,
    )


def _too_much(left: dict[int | None, Decimal], unit: str, fraction: Decimal) -> object:
    total = sum(left.values(), Decimal(0))
    return _l(
        "Mass balance: the input lots have %(left)s %(unit)s left (after earlier "
        "transformations and packed stamps); at a yield of %(rate)s the output can be at "
        "most %(most)s %(unit)s.",
        left=plain(total),
        unit=unit,
        rate=plain(fraction),
        most=plain((total * fraction).quantize(_THOUSANDTHS)),
    )


def _with_harvest(new: NewLot, harvest_date: date) -> NewLot:
    return NewLot(new.product_id, new.code, harvest_date, new.quantity, new.unit, new.plot_id)


def _transformation_event(
    lot: Lot,
    producer_id: int,
    user_id: int,
    when: datetime,
    where: str,
    refs: list[dict[str, object]],
) -> Event:
    from trace.services.events import to_utc_columns

    occurred_at, offset = to_utc_columns(when)
    return Event(
        lot_id=lot.id,  # type: ignore[arg-type]
        producer_id=producer_id,
        kind=EventKind.TRANSFORMATION,
        occurred_at=occurred_at,
        tz_offset_minutes=offset,
        place=where,
        recorded_by_id=user_id,
        details={"input_lots": refs},
    )


def lot_ref(session: Session, lot: Lot) -> dict[str, object]:
    """A lot's identity as recorded inside events: id, code and its product's GTIN."""
    product = session.get(Product, lot.product_id)
    return {"id": lot.id, "code": lot.code, "gtin": product.gtin if product else None}


def get_lot(session: Session, actor: Actor, lot_id: int) -> Lot:
    """A lot the actor may see. :raises NotFound: unknown or another producer's lot."""
    return owned(session, actor, Lot, lot_id)


def list_lots(session: Session, actor: Actor, producer_id: int) -> list[tuple[Lot, Product]]:
    """A producer's lots with their products, newest first."""
    actor.require_see(producer_id)
    statement = (
        select(Lot, Product)
        .join(Product, Product.id == Lot.product_id)  # type: ignore[arg-type]
        .where(Lot.producer_id == producer_id)
        .order_by(Lot.id.desc())  # type: ignore[union-attr]
    )
    return [(lot, product) for lot, product in session.exec(statement)]


def input_lots(session: Session, lot_id: int) -> list[Lot]:
    """One step back: the lots this lot was made from."""
    statement = select(Lot).join(LotInput, LotInput.input_lot_id == Lot.id)  # type: ignore[arg-type]
    return list(session.exec(statement.where(LotInput.output_lot_id == lot_id)))


def output_lots(session: Session, lot_id: int) -> list[Lot]:
    """One step forward: the lots made from this lot."""
    statement = select(Lot).join(LotInput, LotInput.output_lot_id == Lot.id)  # type: ignore[arg-type]
    return list(session.exec(statement.where(LotInput.input_lot_id == lot_id)))


def _own_or_none(
    session: Session, actor: Actor, model: type[_Owned], object_id: int | None
) -> _Owned | None:
    if not object_id:
        return None
    obj = session.get(model, object_id)
    return obj if obj is not None and obj.producer_id == actor.producer_id else None


def _code_taken(session: Session, product_id: int, code: str) -> bool:
    statement = select(func.count()).where(Lot.product_id == product_id, Lot.code == code)
    return bool(session.exec(statement).one())


def _commit_unique(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValidationError(
            {"code": _l("This lot code is already used for this product.")}
        ) from None

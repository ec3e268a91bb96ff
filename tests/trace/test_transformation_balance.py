"""A transformation cannot make more product than its inputs have left (mass balance)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, func, select

from stamps import minting
from tests.registry_fixtures import Farm
from trace.errors import ValidationError
from trace.models import Lot, LotInput
from trace.services import lots

WHEN = datetime.now().astimezone() - timedelta(hours=1)


def transform(
    session: Session,
    farm: Farm,
    inputs: list[int],
    code: str,
    quantity: str,
    unit: str = "kg",
    **kwargs: Any,
) -> Lot:
    new = lots.NewLot(farm.product_id, code, None, quantity, unit)
    return lots.transform_lots(
        session, farm.actor, inputs, new, WHEN, "Xưởng", date.today(), **kwargs
    )


def lot_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Lot)).one()


def test_an_output_larger_than_its_inputs_is_refused_and_nothing_is_recorded(
    session: Session, farm_a: Farm
) -> None:
    session.get(Lot, farm_a.lot_id).quantity = Decimal(1200)  # type: ignore[union-attr]
    session.commit()
    before = lot_count(session)
    with pytest.raises(ValidationError) as error:
        transform(session, farm_a, [farm_a.lot_id], "REPACK-1", "50000")
    message = str(error.value.errors["quantity"])
    assert "1200 kg left" in message and "at most 1200 kg" in message
    assert lot_count(session) == before
    assert session.exec(select(func.count()).select_from(LotInput)).one() == 0


def test_each_transformation_draws_from_what_the_input_has_left(
    session: Session, farm_a: Farm
) -> None:
    transform(session, farm_a, [farm_a.lot_id], "PART-1", "300")  # of 500 kg
    with pytest.raises(ValidationError):
        transform(session, farm_a, [farm_a.lot_id], "PART-2", "201")
    second = transform(session, farm_a, [farm_a.lot_id], "PART-2", "200")
    edge = session.exec(select(LotInput).where(LotInput.output_lot_id == second.id)).one()
    assert edge.quantity == Decimal(200)


def test_a_declared_yield_bounds_the_output(session: Session, farm_a: Farm) -> None:
    with pytest.raises(ValidationError) as error:
        transform(session, farm_a, [farm_a.lot_id], "DRIED-1", "400", declared_yield="0.7")
    assert "at most 350 kg" in str(error.value.errors["quantity"])
    dried = transform(session, farm_a, [farm_a.lot_id], "DRIED-1", "140", declared_yield="0.7")
    edge = session.exec(select(LotInput).where(LotInput.output_lot_id == dried.id)).one()
    assert edge.quantity == Decimal(200)  # 140 kg dried from 200 kg fresh


@pytest.mark.parametrize("declared", ["1.5", "0", "-0.2", "lots"])
def test_a_yield_above_one_or_not_a_fraction_is_refused(
    session: Session, farm_a: Farm, declared: str
) -> None:
    with pytest.raises(ValidationError) as error:
        transform(session, farm_a, [farm_a.lot_id], "BAD-1", "10", declared_yield=declared)
    assert "yield" in error.value.errors


def test_units_convert_between_kg_and_tonne_and_are_refused_otherwise(
    session: Session, farm_a: Farm
) -> None:
    with pytest.raises(ValidationError):
        transform(session, farm_a, [farm_a.lot_id], "T-1", "0.6", unit="tonne")  # 600 kg
    tonnes = transform(session, farm_a, [farm_a.lot_id], "T-1", "0.5", unit="tonne")
    edge = session.exec(select(LotInput).where(LotInput.output_lot_id == tonnes.id)).one()
    assert edge.quantity == Decimal(500)
    with pytest.raises(ValidationError) as error:
        transform(session, farm_a, [tonnes.id], "BOX-1", "10", unit="box")  # type: ignore[list-item]
    assert "does not convert" in str(error.value.errors["unit"])


def test_packed_stamps_and_transformations_share_one_lot(session: Session, farm_a: Farm) -> None:
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 200, "1")
    minting.activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):  # 200 kg are packed as this lot already
        transform(session, farm_a, [farm_a.lot_id], "REST-1", "301")
    transform(session, farm_a, [farm_a.lot_id], "REST-1", "300")
    with pytest.raises(ValidationError) as error:  # and nothing is left to stamp
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    assert "300 kg went into other lots" in str(error.value.errors["count"])


def test_stamps_on_an_output_lot_are_bounded_by_what_it_was_made_from(
    session: Session, farm_a: Farm
) -> None:
    output = transform(session, farm_a, [farm_a.lot_id], "REPACK-2", "500")
    with pytest.raises(ValidationError):
        minting.mint_stamps(session, farm_a.actor, output.id, 5000, "1")  # type: ignore[arg-type]
    minting.mint_stamps(session, farm_a.actor, output.id, 500, "1")  # type: ignore[arg-type]


def test_two_transformations_at_once_cannot_both_spend_the_same_input(
    app: Flask, farm_a: Farm
) -> None:
    engine = app.extensions["db_engine"]
    start, outcomes = threading.Barrier(2), []

    def make(code: str) -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            try:
                transform(own, farm_a, [farm_a.lot_id], code, "300")
                outcomes.append("made")
            except ValidationError:
                outcomes.append("refused")

    threads = [threading.Thread(target=make, args=(code,)) for code in ("A-1", "B-1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["made", "refused"]

"""Farmers mint stamp runs in bulk under a mass balance and activate them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, col, func, select

from chain.merkle import leaf_value_for, merkle_root
from stamps import minting, voiding
from stamps.identity import is_well_formed_serial
from stamps.models import Stamp, StampRun
from tests.registry_fixtures import Farm
from trace.errors import NotFound, ValidationError
from trace.models import Lot


def serials(session: Session, lot_id: int) -> list[str]:
    statement = select(Stamp.serial).where(Stamp.lot_id == lot_id).order_by(col(Stamp.serial))
    return list(session.exec(statement))


def test_minting_writes_unique_well_formed_serials_and_the_lot_stamp_root(
    session: Session, farm_a: Farm
) -> None:
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 300, "1")
    found = serials(session, farm_a.lot_id)
    assert run.count == 300 and len(found) == len(set(found)) == 300
    assert all(is_well_formed_serial(s) for s in found)
    lot = session.get(Lot, farm_a.lot_id)
    session.refresh(lot)
    assert lot.stamp_root == merkle_root(leaf_value_for(s) for s in found).hex()


def test_second_run_extends_the_lot_root_over_all_stamps(session: Session, farm_a: Farm) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 10, "1")
    first_root = session.get(Lot, farm_a.lot_id).stamp_root
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 5, "1")
    lot = session.get(Lot, farm_a.lot_id)
    session.refresh(lot)
    assert lot.stamp_root != first_root
    assert (
        lot.stamp_root
        == merkle_root(leaf_value_for(s) for s in serials(session, farm_a.lot_id)).hex()
    )


@pytest.mark.parametrize("count", [0, -1, 1_000_001, "many", ""])
def test_count_outside_one_to_a_million_is_refused(session: Session, farm_a: Farm, count) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, count, "1")
    assert "count" in error.value.errors
    assert session.exec(select(func.count()).select_from(Stamp)).one() == 0


def test_mass_balance_refuses_more_packs_than_the_lot_holds(session: Session, farm_a: Farm) -> None:
    # The fixture's lot holds 500 kg.
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 200, "2")  # 400 kg
    with pytest.raises(ValidationError) as error:
        minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 60, "2")  # 120 kg > 100 left
    message = str(error.value.errors["count"])
    assert "500" in message and "400" in message and "100" in message
    assert session.exec(select(func.count()).select_from(StampRun)).one() == 1
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 50, "2")  # exactly fills it


def test_voided_stamps_free_their_share_of_the_lot(session: Session, farm_a: Farm) -> None:
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 500, "1")
    found = serials(session, farm_a.lot_id)
    labels = voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, "\n".join(found[:10]))
    assert len(voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels).stamps) == 10
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 10, "1")


def test_activation_marks_issued_stamps_active(session: Session, farm_a: Farm) -> None:
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 4, "1")
    minting.activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]
    assert minting.status_counts(session, farm_a.lot_id) == {"active": 4}


def test_farmer_cannot_mint_or_void_for_another_producer(
    session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    with pytest.raises(NotFound):
        minting.mint_stamps(session, farm_a.actor, farm_b.lot_id, 1, "1")
    run = minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 1, "1")
    with pytest.raises(NotFound):
        minting.activate_run(session, farm_a.actor, run.id)  # type: ignore[arg-type]


def test_mint_form_reports_the_mass_balance_next_to_the_field(login_as, farm_a: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/lots/{farm_a.lot_id}/stamps", data={"mint-count": "600", "mint-pack_size": "1"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Mass balance: the lot holds 500 kg" in page
    ok = client.post(
        f"/lots/{farm_a.lot_id}/stamps", data={"mint-count": "100", "mint-pack_size": "0.5"}
    )
    assert ok.status_code == 302
    assert "100" in client.get(f"/lots/{farm_a.lot_id}/stamps").get_data(as_text=True)


def test_pack_size_is_kept_exactly(session: Session, farm_a: Farm) -> None:
    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 3, "0.250")
    assert session.get(StampRun, run.id).pack_size == Decimal("0.25")


def test_a_large_run_gives_the_same_root_when_hashed_in_another_process(
    session: Session, farm_a: Farm
) -> None:
    session.get(Lot, farm_a.lot_id).quantity = Decimal(2000)  # 200,000 packs of 10 g
    session.commit()
    count = minting.PROCESS_THRESHOLD
    minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, count, "0.01")
    lot = session.get(Lot, farm_a.lot_id)
    session.refresh(lot)
    found = serials(session, farm_a.lot_id)
    assert len(found) == count == lot.stamp_count
    assert lot.stamp_root == minting.stamp_root_of(found).hex()


def test_the_database_refuses_a_stamp_whose_lot_is_not_its_runs_lot(
    session: Session, farm_a: Farm, farm_b: Farm
) -> None:
    from sqlalchemy.exc import IntegrityError

    run = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 1, "1")
    session.add(Stamp(serial="0000000000000X", lot_id=farm_b.lot_id, run_id=run.id))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    assert session.exec(select(func.count()).select_from(Stamp)).one() == 1

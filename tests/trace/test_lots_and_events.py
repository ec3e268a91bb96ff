"""Lots, their append-only events, corrections, PHI warnings and the lot graph."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from tests.registry_fixtures import Farm
from trace.models import Event, Lot, LotInput


def lot_form(farm: Farm, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "product_id": farm.product_id,
        "code": "TL-2611/A",
        "quantity": "250.5",
        "unit": "kg",
        "harvest_date": (date.today() - timedelta(days=1)).isoformat(),
        "plot_id": farm.plot_id,
    }
    form.update(changes)
    return form


def event_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "occurred_at": "2026-01-10T07:30",
        "tz": "+07:00",
        "place": "Vườn 1",
        "note": "",
    }
    form.update(changes)
    return form


def test_lot_is_recorded_and_shown(login_as, farm_a: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post("/lots/", data=lot_form(farm_a))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "TL-2611/A" in page and "250.5" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "LOT WITH SPACE"}, "At most 20 characters"),
        ({"code": "X" * 21}, "At most 20 characters"),
        ({"code": "LÔ-1"}, "At most 20 characters"),
        (
            {"harvest_date": (date.today() + timedelta(days=2)).isoformat()},
            "cannot be in the future",
        ),
        ({"harvest_date": "31/12/2025"}, "YYYY-MM-DD"),
        ({"quantity": "0"}, "greater than zero"),
        ({"quantity": "nhiều"}, "Enter a number."),
        ({"quantity": "NaN"}, "greater than zero"),
        ({"unit": "barrel"}, "Choose one of the listed options."),
    ],
)
def test_bad_lot_input_is_refused_with_a_message(
    login_as, farm_a: Farm, session: Session, changes, message
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post("/lots/", data=lot_form(farm_a, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert len(session.exec(select(Lot)).all()) == 1  # only the fixture's lot


def test_lot_code_is_unique_per_product(login_as, farm_a: Farm) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    assert client.post("/lots/", data=lot_form(farm_a, code="L1")).status_code == 302
    again = client.post("/lots/", data=lot_form(farm_a, code="L1"))
    assert again.status_code == 422 and "already used for this product" in again.get_data(
        as_text=True
    )


def test_lot_cannot_use_another_producers_product(
    login_as, farm_a: Farm, farm_b: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        "/lots/", data=lot_form(farm_a, product_id=farm_b.product_id, plot_id=farm_b.plot_id)
    )
    assert response.status_code == 422
    assert "Choose one of your products." in response.get_data(as_text=True)


def test_event_is_recorded_with_its_time_zone(login_as, farm_a: Farm, session: Session) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/lots/{farm_a.lot_id}/events/cooling", data=event_form(temperature_c="6.5")
    )
    assert response.status_code == 302
    event = session.exec(select(Event)).one()
    assert (event.kind, event.tz_offset_minutes, event.details) == (
        "cooling",
        420,
        {"temperature_c": 6.5},
    )
    assert event.occurred_at.hour == 0 and event.occurred_at.minute == 30  # 07:30 +07:00 in UTC
    page = client.get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)
    assert "2026-01-10 07:30 (UTC+07:00)" in page


def test_event_form_rejects_missing_details_and_future_time(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/lots/{farm_a.lot_id}/events/input_application",
        data=event_form(input_name="", dose="", phi_days="-3", occurred_at="2999-01-01T00:00"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." in page and "Between 0 and 365 days." in page
    assert "cannot be in the future" in page
    assert session.exec(select(Event)).all() == []


def test_input_inside_pre_harvest_interval_warns_on_the_lot_page(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    lot = session.get(Lot, farm_a.lot_id)
    applied = lot.harvest_date - timedelta(days=2)
    client.post(
        f"/lots/{farm_a.lot_id}/events/input_application",
        data=event_form(
            occurred_at=f"{applied.isoformat()}T08:00",
            input_name="Abamectin",
            dose="10 ml",
            phi_days="7",
        ),
    )
    page = client.get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)
    assert "Warning: Abamectin" in page
    assert (applied + timedelta(days=7)).isoformat() in page


def test_input_outside_pre_harvest_interval_does_not_warn(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    lot = session.get(Lot, farm_a.lot_id)
    applied = lot.harvest_date - timedelta(days=10)
    client.post(
        f"/lots/{farm_a.lot_id}/events/input_application",
        data=event_form(
            occurred_at=f"{applied.isoformat()}T08:00",
            input_name="Abamectin",
            dose="10 ml",
            phi_days="7",
        ),
    )
    assert "Warning:" not in client.get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)


def test_correction_supersedes_without_editing_the_original(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    client.post(
        f"/lots/{farm_a.lot_id}/events/shipping", data=event_form(destination="Chợ Bình Điền")
    )
    original = session.exec(select(Event)).one()
    response = client.post(
        f"/lots/{farm_a.lot_id}/events/shipping?supersedes={original.id}",
        data=event_form(destination="Chợ đầu mối Thủ Đức"),
    )
    assert response.status_code == 302
    events = session.exec(select(Event).order_by(Event.id)).all()
    assert [e.details["destination"] for e in events] == ["Chợ Bình Điền", "Chợ đầu mối Thủ Đức"]
    assert events[1].supersedes_id == original.id
    page = client.get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)
    assert f"Corrected by event #{events[1].id}" in page
    twice = client.post(
        f"/lots/{farm_a.lot_id}/events/shipping?supersedes={original.id}",
        data=event_form(destination="X"),
    )
    assert "already been corrected" in twice.get_data(as_text=True)


def test_database_refuses_to_edit_or_delete_an_event(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    client.post(f"/lots/{farm_a.lot_id}/events/harvest", data=event_form())
    for statement in ("UPDATE events SET place = 'elsewhere'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert session.exec(select(Event)).one().place == "Vườn 1"


def test_transformation_links_input_and_output_lots(
    login_as, farm_a: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    client.post(
        "/lots/",
        data=lot_form(
            farm_a, code="TL-B", harvest_date=(date.today() - timedelta(days=9)).isoformat()
        ),
    )
    second = session.exec(select(Lot).where(Lot.code == "TL-B")).one()
    response = client.post(
        "/lots/transform",
        data={
            "input_lot_ids": [str(farm_a.lot_id), str(second.id)],
            "product_id": farm_a.product_id,
            "code": "MIX-1",
            "quantity": "700",
            "unit": "kg",
            "occurred_at": "2026-01-11T09:00",
            "tz": "+07:00",
            "place": "Xưởng sơ chế",
        },
    )
    assert response.status_code == 302
    output = session.exec(select(Lot).where(Lot.code == "MIX-1")).one()
    assert output.harvest_date == second.harvest_date  # the earliest input's
    edges = session.exec(select(LotInput).where(LotInput.output_lot_id == output.id)).all()
    assert {e.input_lot_id for e in edges} == {farm_a.lot_id, second.id}
    out_page = client.get(f"/lots/{output.id}").get_data(as_text=True)
    assert "TL-1" in out_page and "TL-B" in out_page
    in_page = client.get(f"/lots/{farm_a.lot_id}").get_data(as_text=True)
    assert "MIX-1" in in_page


def test_transformation_refuses_another_producers_lot(
    login_as, farm_a: Farm, farm_b: Farm, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    response = client.post(
        "/lots/transform",
        data={
            "input_lot_ids": [str(farm_b.lot_id)],
            "product_id": farm_a.product_id,
            "code": "STEAL",
            "quantity": "1",
            "unit": "kg",
            "occurred_at": "2026-01-11T09:00",
            "tz": "+07:00",
            "place": "X",
        },
    )
    assert response.status_code == 422
    assert session.exec(select(Lot).where(Lot.code == "STEAL")).first() is None

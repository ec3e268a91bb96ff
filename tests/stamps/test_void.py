"""Farmers void damaged labels as printed (run and label number, or serials), and can undo.

Two runs of one lot: run 1 is on product (active), run 2's sheet had two labels damaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from stamps import minting, voiding
from stamps.identity import format_serial
from stamps.models import Stamp, StampRun, StampVoid
from tests.registry_fixtures import Farm
from trace.errors import NotFound, ValidationError
from trace.models.base import utcnow


@dataclass
class Runs:
    first: StampRun
    second: StampRun
    printed: dict[int, list[str]]  # run id -> serials in print order (label 1 first)


@pytest.fixture
def runs(session: Session, farm_a: Farm) -> Runs:
    first = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")
    minting.activate_run(session, farm_a.actor, first.id)  # type: ignore[arg-type]
    second = minting.mint_stamps(session, farm_a.actor, farm_a.lot_id, 30, "1")
    printed = {run.id: print_order(session, run) for run in (first, second)}
    return Runs(first, second, printed)  # type: ignore[arg-type]


def print_order(session: Session, run: StampRun) -> list[str]:
    """The run's serials as its label sheet prints them (the PDF's order)."""
    statement = select(Stamp.serial).where(Stamp.run_id == run.id).order_by(col(Stamp.serial))
    return list(session.exec(statement))


def statuses(session: Session) -> dict[str, str]:
    session.expire_all()
    return dict(session.exec(select(Stamp.serial, Stamp.status)).all())  # type: ignore[arg-type]


def test_voiding_labels_20_to_21_of_run_2_voids_exactly_those_two_stamps(
    session: Session, farm_a: Farm, runs: Runs
) -> None:
    before = statuses(session)
    labels = voiding.labels_by_position(
        session, farm_a.actor, farm_a.lot_id, str(runs.second.id), "20", "21"
    )
    damaged = runs.printed[runs.second.id][19:21]
    assert [(x.serial, x.position, x.status) for x in labels] == [
        (damaged[0], 20, "issued"),
        (damaged[1], 21, "issued"),
    ]
    voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    after = statuses(session)
    changed = {serial for serial in after if after[serial] != before[serial]}
    assert changed == set(damaged) and {after[s] for s in damaged} == {"void"}
    assert {after[s] for s in runs.printed[runs.first.id]} == {"active"}  # run 1 untouched


def test_typed_or_scanned_serials_void_only_those_stamps(
    session: Session, farm_a: Farm, runs: Runs
) -> None:
    one, other = runs.printed[runs.second.id][4], runs.printed[runs.first.id][9]
    typed = f"{format_serial(one).lower()}\n\nhttps://trace.example.vn/01/x/10/TL-1/21/{other}\n"
    typed = typed.replace("/01/x/", f"/01/{gtin_of(session, farm_a)}/")
    labels = voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, typed)
    assert sorted((x.run_id, x.position) for x in labels) == [
        (runs.first.id, 10),
        (runs.second.id, 5),
    ]
    voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    after = statuses(session)
    assert sorted(s for s, status in after.items() if status == "void") == sorted([one, other])


def gtin_of(session: Session, farm: Farm) -> str:
    from trace.models import Product

    return session.get(Product, farm.product_id).gtin  # type: ignore[union-attr]


def test_serials_of_another_lot_or_unknown_are_refused_and_nothing_changes(
    session: Session, farm_a: Farm, farm_b: Farm, runs: Runs
) -> None:
    minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 3, "1")
    theirs = session.exec(select(Stamp.serial).where(Stamp.lot_id == farm_b.lot_id)).first()
    typed = f"{runs.printed[runs.second.id][0]}\n{theirs}\nNOT-A-SERIAL"
    with pytest.raises(ValidationError) as error:
        voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, typed)
    message = str(error.value.errors["serials"])
    assert str(theirs) in message and "NOT-A-SERIAL" in message
    assert "void" not in statuses(session).values()


def test_positions_outside_the_run_or_another_lots_run_are_refused(
    session: Session, farm_a: Farm, farm_b: Farm, runs: Runs
) -> None:
    theirs = minting.mint_stamps(session, farm_b.actor, farm_b.lot_id, 3, "1")
    with pytest.raises(ValidationError) as error:
        voiding.labels_by_position(session, farm_a.actor, farm_a.lot_id, runs.second.id, 30, 31)
    assert "1 to 30" in str(error.value.errors["last_label"])
    with pytest.raises(ValidationError) as error:
        voiding.labels_by_position(session, farm_a.actor, farm_a.lot_id, theirs.id, 1, 1)
    assert "run" in error.value.errors
    with pytest.raises(NotFound):
        voiding.labels_by_position(session, farm_b.actor, farm_a.lot_id, runs.second.id, 1, 1)


def test_a_preview_whose_stamps_changed_voids_nothing(
    session: Session, farm_a: Farm, runs: Runs
) -> None:
    labels = voiding.labels_by_position(session, farm_a.actor, farm_a.lot_id, runs.second.id, 1, 3)
    minting.activate_run(session, farm_a.actor, runs.second.id)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    assert "void" not in statuses(session).values()


def test_undo_gives_the_labels_back_their_status(
    session: Session, farm_a: Farm, runs: Runs
) -> None:
    before = statuses(session)
    on_product = voiding.labels_by_position(
        session, farm_a.actor, farm_a.lot_id, runs.first.id, 7, 8
    )
    void = voiding.void_labels(session, farm_a.actor, farm_a.lot_id, on_product)
    assert statuses(session) != before
    undo = voiding.undo_void(session, farm_a.actor, void.id, timedelta(hours=24))  # type: ignore[arg-type]
    assert statuses(session) == before  # active again, nothing else touched
    assert undo.undoes_id == void.id and undo.actor_id == farm_a.user.id
    actions = session.exec(select(StampVoid.action).order_by(col(StampVoid.id))).all()
    assert actions == ["void", "undo"]  # one audit row each way
    with pytest.raises(ValidationError):
        voiding.undo_void(session, farm_a.actor, void.id, timedelta(hours=24))  # type: ignore[arg-type]


def test_undo_after_the_window_is_refused_with_a_message(
    session: Session, farm_a: Farm, runs: Runs
) -> None:
    labels = voiding.labels_by_position(session, farm_a.actor, farm_a.lot_id, runs.second.id, 2)
    void = voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    later = utcnow() + timedelta(hours=25)
    with pytest.raises(ValidationError) as error:
        voiding.undo_void(session, farm_a.actor, void.id, timedelta(hours=24), now=later)  # type: ignore[arg-type]
    assert "within 24 hours" in str(error.value.errors["undo"])
    assert statuses(session)[labels[0].serial] == "void"


def test_another_farmer_cannot_undo_a_void(
    session: Session, farm_a: Farm, farm_b: Farm, runs: Runs
) -> None:
    labels = voiding.labels_by_position(session, farm_a.actor, farm_a.lot_id, runs.second.id, 1)
    void = voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    with pytest.raises(NotFound):
        voiding.undo_void(session, farm_b.actor, void.id, timedelta(hours=24))  # type: ignore[arg-type]


# --- the pages ----------------------------------------------------------------------------


def test_the_farmer_previews_confirms_and_undoes_in_the_browser(
    login_as: Any, session: Session, farm_a: Farm, runs: Runs
) -> None:
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    before = statuses(session)
    url = f"/lots/{farm_a.lot_id}/stamps/void"
    form = {
        "by": "position",
        "position-run": str(runs.second.id),
        "position-first_label": "20",
        "position-last_label": "21",
    }
    preview = client.post(url, data=form)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    damaged = runs.printed[runs.second.id][19:21]
    assert page.count("<tr data-serial=") == 2
    assert all(f'data-serial="{serial}"' in page for serial in damaged)
    assert "Void 2 labels" in page and "within 24 hours" in page
    assert statuses(session) == before  # a preview changes nothing
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    done = client.post(f"{url}/confirm", data={"token": token}, follow_redirects=True)
    assert "2 labels voided" in done.get_data(as_text=True)
    after = statuses(session)
    assert {s for s in after if after[s] != before[s]} == set(damaged)
    void = session.exec(select(StampVoid)).one()
    undone = client.post(f"/voids/{void.id}/undo", follow_redirects=True)
    assert "Void undone: 2 labels restored." in undone.get_data(as_text=True)
    assert statuses(session) == before


def test_recent_voids_show_the_sites_time_not_utc(
    login_as: Any, session: Session, farm_a: Farm, runs: Runs
) -> None:
    serials = runs.printed[runs.first.id][:2]
    labels = voiding.labels_by_serial(session, farm_a.actor, farm_a.lot_id, "\n".join(serials))
    voiding.void_labels(session, farm_a.actor, farm_a.lot_id, labels)
    void = session.exec(select(StampVoid)).one()
    void.created_at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    session.commit()
    client = login_as(farm_a.email)
    client.set_cookie("lang", "en")
    page = client.get(f"/lots/{farm_a.lot_id}/stamps/void").get_data(as_text=True)
    assert "2026-03-02 00:30 UTC+07:00" in page  # Asia/Ho_Chi_Minh, the site's time zone
    assert "17:30" not in page


def test_a_tampered_preview_token_voids_nothing(
    login_as: Any, session: Session, farm_a: Farm, runs: Runs
) -> None:
    client = login_as(farm_a.email)
    client.set_cookie("lang", "vi")
    url = f"/lots/{farm_a.lot_id}/stamps/void/confirm"
    response = client.post(url, data={"token": "eyJsb3QiOjF9.forged"}, follow_redirects=True)
    assert "Bản xem trước đã hết hạn" in response.get_data(as_text=True)
    assert "void" not in statuses(session).values()


def test_the_choose_page_says_why_next_to_the_field_in_vietnamese(
    login_as: Any, session: Session, farm_a: Farm, runs: Runs
) -> None:
    client = login_as(farm_a.email)
    client.set_cookie("lang", "vi")
    form = {"by": "position", "position-run": str(runs.second.id), "position-first_label": "99"}
    response = client.post(f"/lots/{farm_a.lot_id}/stamps/void", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="position-first_label-error"' in page and "Số nhãn từ 1 đến 30" in page
    assert "void" not in statuses(session).values()

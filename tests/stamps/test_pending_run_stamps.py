"""Stamps of a run still being minted exist for nobody: not on a scan (hot path or full
view), not in the API's stamp list or verdict, not on a label sheet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlmodel import Session, col, select

from stamps import mint_runs, minting, voiding
from stamps.models import Stamp, StampRun
from tests.registry_fixtures import Farm, login
from trace.app import close_app, create_app
from trace.errors import ValidationError
from trace.models import Lot, Product
from trace.services import tokens
from trace.services.access import Actor

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}
WRITTEN = ["PEND00000001", "PEND00000002"]


class Lot2:
    """A lot with one published run (three stamps) and one run being written (two)."""

    def __init__(self, session: Session, farm: Farm) -> None:
        self.run = minting.mint_stamps(session, farm.actor, farm.lot_id, 3, "1")
        minting.activate_run(session, farm.actor, self.run.id)  # type: ignore[arg-type]
        statement = select(Stamp.serial).where(Stamp.run_id == self.run.id)
        self.published = sorted(session.exec(statement.order_by(col(Stamp.id))))
        pending = StampRun(
            lot_id=farm.lot_id, count=100, pack_size=Decimal(1), created_by_id=farm.user.id
        )
        pending.pending_until = mint_runs.lease_end()  # a writer at work, between chunks
        session.add(pending)
        session.commit()
        minting._insert_stamps(session, farm.lot_id, pending.id, WRITTEN)  # type: ignore[arg-type]
        session.commit()
        self.pending_run: int = pending.id  # type: ignore[assignment]
        lot = session.get(Lot, farm.lot_id)
        product = session.get(Product, farm.product_id)
        assert lot is not None and product is not None
        self.lot_id, self.prefix = farm.lot_id, f"/01/{product.gtin}/10/{lot.code}/21/"


@pytest.fixture
def lot2(session: Session, farm_a: Farm) -> Lot2:
    return Lot2(session, farm_a)


@pytest.fixture
def full_app(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """The same service with every scan rendered by the full Flask view."""
    config = {
        **app_config,
        "SCAN_HOT_PATH": False,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": str(tmp_path / "full"),
    }
    other = create_app(config)
    yield other
    close_app(other)


def verdict(app: Flask, path: str) -> str:
    answer = app.test_client().get(path, headers=JSON)
    return str(answer.json["verdict"])


def test_a_stamp_of_a_run_being_minted_is_not_found_on_the_hot_path(app: Flask, lot2: Lot2) -> None:
    # The published stamp is answered by the hot path, which has the lot's story then.
    assert verdict(app, lot2.prefix + lot2.published[0]) == "GENUINE"
    assert verdict(app, lot2.prefix + lot2.published[1]) == "GENUINE"
    assert app.wsgi_app.answered >= 1  # type: ignore[attr-defined]
    assert verdict(app, lot2.prefix + WRITTEN[0]) == "NOT_FOUND"
    page = app.test_client().get(lot2.prefix + WRITTEN[1] + "?lang=en", headers=PHONE)
    assert 'data-verdict="NOT_FOUND"' in page.get_data(as_text=True)


def test_a_stamp_of_a_run_being_minted_is_not_found_on_the_full_view(
    full_app: Flask, lot2: Lot2
) -> None:
    assert verdict(full_app, lot2.prefix + lot2.published[0]) == "GENUINE"
    assert verdict(full_app, lot2.prefix + WRITTEN[0]) == "NOT_FOUND"


@pytest.fixture
def farmer_api(session: Session, farm_a: Farm, admin: Any, client: Any) -> Callable[..., Any]:
    issuer = Actor(user_id=admin.id, role="admin")
    secret = tokens.issue_token(session, issuer, farm_a.user.email, ["read"], None, "t").secret
    return lambda path: client.get(path, headers={"Authorization": f"Bearer {secret}"})


def test_the_api_lists_and_judges_only_published_stamps(
    farmer_api: Callable[..., Any], lot2: Lot2
) -> None:
    listed = farmer_api(f"/api/v1/batches/{lot2.lot_id}/stamps")
    assert listed.status_code == 200
    assert [item["serial"] for item in listed.json["items"]] == lot2.published
    assert farmer_api(f"/api/v1/stamps/{WRITTEN[0]}").status_code == 404
    assert farmer_api(f"/api/v1/stamps/{lot2.published[0]}").status_code == 200


def test_label_sheets_leave_out_a_run_being_minted(
    farmer_api: Callable[..., Any],
    lot2: Lot2,
    client: Any,
    farm_a: Farm,
    read_pdf_page: Callable[..., tuple[Image.Image, str]],
    decode_qr: Callable[[Image.Image], list[str]],
) -> None:
    sheet = farmer_api(f"/api/v1/batches/{lot2.lot_id}/stamps.pdf")
    assert sheet.status_code == 200
    image, _ = read_pdf_page(sheet.get_data(), 0, dpi=200)
    printed = sorted(uri.rsplit("/", 1)[1] for uri in decode_qr(image))
    assert printed == lot2.published
    login(client, farm_a.user.email)
    assert client.get(f"/runs/{lot2.run.id}/labels.pdf").status_code == 200
    assert client.get(f"/runs/{lot2.pending_run}/labels.pdf").status_code == 404


def test_labels_of_a_run_being_minted_cannot_be_voided(
    session: Session, farm_a: Farm, lot2: Lot2
) -> None:
    """Its stamps may yet be discarded with the run: a void must not name them."""
    with pytest.raises(ValidationError):
        voiding.labels_by_position(session, farm_a.actor, lot2.lot_id, lot2.pending_run, 1, 2)
    with pytest.raises(ValidationError):
        voiding.labels_by_serial(session, farm_a.actor, lot2.lot_id, "\n".join(WRITTEN))
    published = voiding.labels_by_serial(session, farm_a.actor, lot2.lot_id, lot2.published[0])
    assert [label.serial for label in published] == [lot2.published[0]]

"""Certifications on the scan page: declared until verified, on the products they cover only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from stamps.minting import mint_stamps
from stamps.models import Stamp
from tests.registry_fixtures import Farm
from trace.models import Certification, Lot, Product, User
from trace.services import holdings, lots, tokens
from trace.services.access import Actor

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}


def certify(session: Session, farm: Farm, number: str, days_left: int = 300, **cover: Any) -> int:
    cert = holdings.add_certification(
        session,
        farm.actor,
        scheme="vietgap",
        number=number,
        issuer="Trung tâm Chứng nhận VietGAP Long An",
        valid_from=date.today() - timedelta(days=400),
        valid_to=date.today() + timedelta(days=days_left),
        upload_folder="",
        max_bytes=0,
        **cover,
    )
    return cert.id  # type: ignore[return-value]


def stamp_path(session: Session, farm: Farm, lot_id: int) -> str:
    run = mint_stamps(session, farm.actor, lot_id, 2, "1")
    serial = session.exec(select(Stamp.serial).where(Stamp.run_id == run.id)).first()
    lot = session.get(Lot, lot_id)
    gtin = session.get(Product, lot.product_id).gtin  # type: ignore[union-attr]
    return f"/01/{gtin}/10/{lot.code}/21/{serial}"  # type: ignore[union-attr]


@pytest.fixture
def two_products(session: Session, farm_a: Farm) -> tuple[str, str]:
    """Scan paths of a dragon-fruit stamp and of a stamp of the farm's second product."""
    mango = holdings.add_product(
        session, farm_a.actor, name_vi="Xoài cát", name_en="Cat mango", category="fruit",
        unit="kg", gtin=None,
    )  # fmt: skip
    lot = lots.create_lot(
        session,
        farm_a.actor,
        lots.NewLot(mango.id, "XC-1", date.today() - timedelta(days=1), "80", "kg"),  # type: ignore[arg-type]
        date.today(),
    )
    second_run = stamp_path(session, farm_a, farm_a.lot_id)
    stamp_path(session, farm_a, farm_a.lot_id)
    return second_run, stamp_path(session, farm_a, lot.id)  # type: ignore[arg-type]


def numbers(client: Any, path: str) -> dict[str, str]:
    report = client.get(path, headers=JSON).json
    return {c["number"]: c["standing"] for c in report["certifications"]}


def test_a_certificate_shows_only_on_the_products_it_names(
    client: Any, session: Session, farm_a: Farm, two_products: tuple[str, str]
) -> None:
    dragon, mango = two_products
    certify(session, farm_a, "VG-DRAGON", product_ids=[farm_a.product_id])
    certify(session, farm_a, "VG-ALL", producer_wide=True)
    certify(session, farm_a, "VG-NONE")  # names no product: shown on none
    assert numbers(client, dragon) == {"VG-DRAGON": "declared", "VG-ALL": "declared"}
    assert numbers(client, mango) == {"VG-ALL": "declared"}
    english = client.get(mango + "?lang=en", headers=PHONE).get_data(as_text=True)
    assert "VG-DRAGON" not in english and "declared for all the producer" in english


def test_declared_verified_and_expired_read_differently_in_both_languages(
    client: Any,
    session: Session,
    farm_a: Farm,
    inspector: User,
    login_as: Callable[[str], Any],
    two_products: tuple[str, str],
) -> None:
    dragon, _mango = two_products
    declared = certify(session, farm_a, "VG-DECL", product_ids=[farm_a.product_id])
    certify(session, farm_a, "VG-OLD", days_left=-1, product_ids=[farm_a.product_id])
    vietnamese = client.get(dragon, headers=PHONE).get_data(as_text=True)
    assert "Do nhà sản xuất tự khai, chưa được xác minh" in vietnamese
    assert "Hết hiệu lực" in vietnamese
    assert "Còn hiệu lực" not in vietnamese
    inspector.full_name = "Nguyễn Văn Kiểm"
    session.add(inspector)
    session.commit()
    checked = login_as(inspector.email).post(f"/admin/certifications/{declared}/verify")
    assert checked.status_code == 302
    assert numbers(client, dragon) == {"VG-DECL": "verified", "VG-OLD": "expired"}
    english = client.get(dragon + "?lang=en", headers=PHONE).get_data(as_text=True)
    today = date.today().isoformat()
    assert f"Verified by Nguyễn Văn Kiểm on {today}." in english and "Expired" in english
    vietnamese = client.get(dragon, headers=PHONE).get_data(as_text=True)
    assert f"Được Nguyễn Văn Kiểm xác minh ngày {today}." in vietnamese


def test_only_inspectors_and_admins_verify(
    client: Any,
    session: Session,
    farm_a: Farm,
    admin: User,
    inspector: User,
    login_as: Callable[[str], Any],
) -> None:
    cert_id = certify(session, farm_a, "VG-API", producer_wide=True)
    assert login_as(farm_a.email).post(f"/admin/certifications/{cert_id}/verify").status_code in (
        403,
        404,
    )
    issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    reader = tokens.issue_token(session, issuer, inspector.email, ("read",), None, "t")
    answer = client.post(
        f"/api/v1/certifications/{cert_id}/verify",
        headers={"Authorization": f"Bearer {reader.secret}"},
    )
    assert answer.status_code == 403
    assert session.get(Certification, cert_id).verified_at is None  # type: ignore[union-attr]
    token = tokens.issue_token(session, issuer, inspector.email, ("capture",), None, "t")
    answer = client.post(
        f"/api/v1/certifications/{cert_id}/verify",
        headers={"Authorization": f"Bearer {token.secret}"},
    )
    assert answer.status_code == 200 and answer.json["standing"] == "verified"
    assert answer.json["verified_by_id"] == inspector.id


def test_the_form_asks_which_products_a_certificate_covers(
    session: Session, farm_a: Farm, login_as: Callable[[str], Any]
) -> None:
    browser = login_as(farm_a.email)
    form = {
        "scheme": "vietgap",
        "number": "VG-FORM-1",
        "issuer": "Chi cục Trồng trọt",
        "valid_from": (date.today() - timedelta(days=5)).isoformat(),
        "valid_to": (date.today() + timedelta(days=300)).isoformat(),
    }
    refused = browser.post("/farm/certifications", data=form)
    assert refused.status_code == 422
    assert "Hãy chọn các sản phẩm được chứng nhận" in refused.get_data(as_text=True)
    assert session.exec(select(Certification)).all() == []
    added = browser.post("/farm/certifications", data={**form, "product_ids": [farm_a.product_id]})
    assert added.status_code == 302
    page = browser.get("/farm/certifications?lang=en").get_data(as_text=True)
    assert "Covers:" in page and "Thanh long ruột đỏ" in page

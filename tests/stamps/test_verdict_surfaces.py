"""One verdict on every surface: the scan page, scan JSON, linkset, API, proof bundles, report.

The province here: farm 1 has lot TL-1 and TL-REPACK-01 made from it by a transformation,
farm 2 has lot TL-2 and a second lot TL-2B. Every lot has stamps in two activated runs, and
everything is anchored before anything goes wrong, so a verdict that leaked to the wrong
lot, run or producer would show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, col, select

from stamps.identity import new_serials
from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp, StampFlag, StampStatus
from stamps.verdict import PRECEDENCE, TEXTS, Verdict, judge
from tests.registry_fixtures import Farm
from tests.stamps.test_proof_flow import anchor_everything
from trace.models import Lot, ProducerStatus, Product, User
from trace.services import accounts, lots, tokens
from trace.services.access import Actor

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 13; SM-A145F) Chrome/120 Mobile"}
JSON = {**PHONE, "Accept": "application/json"}
LINKSET = {**PHONE, "Accept": "application/linkset+json"}


@dataclass
class Province:
    """Lots by code, each with its stamps' serials by run (in minting order)."""

    farms: dict[str, Farm]
    lot_ids: dict[str, int]
    runs: dict[str, list[list[str]]]
    paths: dict[str, str]  # serial -> Digital Link path


def _stamp_lot(session: Session, farm: Farm, lot_id: int, into: Province, code: str) -> None:
    into.lot_ids[code] = lot_id
    into.runs[code] = []
    lot, product = session.get(Lot, lot_id), None
    assert lot is not None
    product = session.get(Product, lot.product_id)
    assert product is not None
    for count in (3, 2):
        run = mint_stamps(session, farm.actor, lot_id, count, "1")
        activate_run(session, farm.actor, run.id)  # type: ignore[arg-type]
        statement = select(Stamp.serial).where(Stamp.run_id == run.id).order_by(col(Stamp.id))
        serials = list(session.exec(statement))
        into.runs[code].append(serials)
        for serial in serials:
            into.paths[serial] = f"/01/{product.gtin}/10/{lot.code}/21/{serial}"


@pytest.fixture
def province(app: Flask, session: Session, farm_a: Farm, farm_b: Farm) -> Province:
    when = datetime.now().astimezone() - timedelta(hours=2)
    repack = lots.transform_lots(
        session,
        farm_a.actor,
        [farm_a.lot_id],
        lots.NewLot(farm_a.product_id, "TL-REPACK-01", None, "100", "kg"),
        when,
        "Kho đóng gói",
        when.date(),
    )
    second = lots.create_lot(
        session,
        farm_b.actor,
        lots.NewLot(farm_b.product_id, "TL-2B", date.today() - timedelta(days=2), "300", "kg"),
        date.today(),
    )
    found = Province({"a": farm_a, "b": farm_b}, {}, {}, {})
    for farm, lot_id, code in (
        (farm_a, farm_a.lot_id, "TL-1"),
        (farm_a, repack.id, "TL-REPACK-01"),
        (farm_b, farm_b.lot_id, "TL-2"),
        (farm_b, second.id, "TL-2B"),
    ):
        _stamp_lot(session, farm, lot_id, found, code)  # type: ignore[arg-type]
    anchor_everything(app)
    session.expire_all()
    return found


@pytest.fixture
def inspector_token(session: Session, admin: User, inspector: User) -> str:
    issuer = Actor(user_id=admin.id, role="admin")  # type: ignore[arg-type]
    scopes = ("read", "recall", "capture")
    return tokens.issue_token(session, issuer, inspector.email, scopes, None, "test").secret


@dataclass
class Surfaces:
    """What each surface says about one stamp."""

    page: str  # the verdict the page's status section carries
    page_text: str
    json: str
    linkset: str
    api: str
    proof: str
    public_proof: str

    def all(self) -> set[str]:
        return {self.page, self.json, self.linkset, self.api, self.proof, self.public_proof}


def surfaces(client: Any, token: str, path: str) -> Surfaces:
    """Ask every surface about the stamp at ``path`` (the English page)."""
    serial = path.rsplit("/", 1)[1]
    page = client.get(path + "?lang=en", headers=PHONE).get_data(as_text=True)
    marker = 'data-verdict="'
    page_verdict = page[page.index(marker) + len(marker) :].split('"', 1)[0]
    report = client.get(path, headers=JSON).json
    links = client.get(path, headers=LINKSET).json["linkset"][0]
    bearer = {"Authorization": f"Bearer {token}"}
    api = client.get(f"/api/v1/stamps/{serial}", headers=bearer)
    proof = client.get(f"/api/v1/stamps/{serial}/proof", headers=bearer)
    public = client.get(f"/proofs/{serial}.json")
    assert api.status_code == 200 and proof.status_code == 200, (api.json, proof.json)
    assert public.status_code == 200, public.get_data(as_text=True)
    return Surfaces(
        page=page_verdict,
        page_text=page,
        json=report["verdict"],
        # GS1's linkset schema allows no verdict attribute: follow the default link for it.
        linkset=client.get(
            urlsplit(links["https://gs1.org/voc/defaultLink"][0]["href"]).path, headers=JSON
        ).json["verdict"],
        api=api.json["verdict"],
        proof=proof.json["verdict"],
        public_proof=public.json["verdict"],
    )


def make_tampered(session: Session, province: Province, code: str) -> None:
    """Change the lot's harvest date behind the service's back (after it was anchored)."""
    session.execute(
        text("UPDATE lots SET harvest_date = :d WHERE id = :id"),
        {"d": "2020-01-01", "id": province.lot_ids[code]},
    )
    session.commit()


def set_stamp(session: Session, serial: str, **values: Any) -> None:
    stamp = session.exec(select(Stamp).where(Stamp.serial == serial)).one()
    for name, value in values.items():
        setattr(stamp, name, value)
    session.add(stamp)
    session.commit()


def suspend(session: Session, admin: User, farm: Farm) -> None:
    accounts.set_producer_status(
        session,
        accounts.actor_for(admin),
        farm.actor.producer_id,  # type: ignore[arg-type]
        ProducerStatus.SUSPENDED,
    )


def test_precedence_is_written_once_strongest_first() -> None:
    assert PRECEDENCE == (
        Verdict.NOT_FOUND,
        Verdict.RECALLED,
        Verdict.TAMPERED,
        Verdict.VOID,
        Verdict.PRODUCER_SUSPENDED,
        Verdict.SUSPICIOUS,
        Verdict.GENUINE,
    )
    everything = dict(
        recalled=True, tampered=True, void=True, producer_suspended=True, flagged=True
    )
    assert judge(found=False, **everything) == Verdict.NOT_FOUND
    # Dropping the strongest condition each time gives the next verdict down.
    conditions = list(everything)
    for index, expected in enumerate(PRECEDENCE[1:-1]):
        held = {name: True for name in conditions[index:]}
        assert judge(**held) == expected
    assert judge() == Verdict.GENUINE
    assert set(TEXTS) == set(Verdict)


def test_every_state_reads_the_same_on_every_surface(
    app: Flask,
    client: Any,
    session: Session,
    admin: User,
    province: Province,
    inspector_token: str,
) -> None:
    runs = province.runs
    bearer = {"Authorization": f"Bearer {inspector_token}"}
    recalled = client.post(
        f"/api/v1/batches/{province.lot_ids['TL-2B']}/recall",
        json={"reason": "Listeria monocytogenes detected"},
        headers=bearer,
    )
    assert recalled.status_code == 200, recalled.json
    make_tampered(session, province, "TL-REPACK-01")
    set_stamp(session, runs["TL-1"][1][0], status=StampStatus.VOID)
    set_stamp(session, runs["TL-1"][0][1], flagged=True)
    session.add(StampFlag(stamp_id=_stamp_id(session, runs["TL-1"][0][1]), rule="scan_threshold"))
    session.commit()
    suspend(session, admin, province.farms["b"])
    app.extensions["stamp_stories"].clear()
    expected = {
        runs["TL-1"][0][0]: Verdict.GENUINE,
        runs["TL-1"][1][1]: Verdict.GENUINE,  # the voided label's neighbour in its run
        runs["TL-1"][1][0]: Verdict.VOID,
        runs["TL-1"][0][1]: Verdict.SUSPICIOUS,
        runs["TL-REPACK-01"][0][0]: Verdict.TAMPERED,
        runs["TL-REPACK-01"][1][1]: Verdict.TAMPERED,
        runs["TL-2"][0][2]: Verdict.PRODUCER_SUSPENDED,
        runs["TL-2"][1][0]: Verdict.PRODUCER_SUSPENDED,
        runs["TL-2B"][1][1]: Verdict.RECALLED,  # recalled outranks the suspension
    }
    for serial, verdict in expected.items():
        said = surfaces(client, inspector_token, province.paths[serial])
        assert said.all() == {str(verdict)}, (serial, verdict, said)
        assert str(TEXTS[verdict].title) in said.page_text
    serial = new_serials(1)[0]
    unknown = province.paths[runs["TL-1"][0][0]].rsplit("/", 1)[0] + "/" + serial
    assert client.get(unknown, headers=JSON).json == {"verdict": "NOT_FOUND"}
    # The resolver walks an unknown serial up to its lot: the linkset is the lot's.
    walked = client.get(unknown, headers=LINKSET).json["linkset"][0]
    assert walked["anchor"] == "https://trace.example.vn" + unknown.rsplit("/21/", 1)[0]
    assert 'data-verdict="NOT_FOUND"' in client.get(unknown, headers=PHONE).get_data(as_text=True)
    assert client.get(f"/api/v1/stamps/{serial}", headers=bearer).status_code == 404
    assert client.get(f"/proofs/{serial}.json").json == {"verdict": "NOT_FOUND"}


def _stamp_id(session: Session, serial: str) -> int:
    return session.exec(select(Stamp.id).where(Stamp.serial == serial)).one()  # type: ignore[return-value]


def test_a_flagged_stamp_of_a_suspended_producer_says_suspended_everywhere(
    app: Flask,
    client: Any,
    session: Session,
    admin: User,
    province: Province,
    inspector_token: str,
) -> None:
    serial = province.runs["TL-2"][1][1]
    set_stamp(session, serial, flagged=True)
    suspend(session, admin, province.farms["b"])
    said = surfaces(client, inspector_token, province.paths[serial])
    assert said.all() == {"PRODUCER_SUSPENDED"}
    assert "The authorities have suspended this producer" in said.page_text
    vietnamese = client.get(province.paths[serial], headers=PHONE).get_data(as_text=True)
    assert "Nhà sản xuất bị đình chỉ" in vietnamese
    other_farm = province.paths[province.runs["TL-1"][1][1]]
    assert client.get(other_farm, headers=JSON).json["verdict"] == "GENUINE"


def test_a_lot_changed_behind_the_service_is_tampered_on_the_next_story_read(
    app: Flask, client: Any, session: Session, province: Province, inspector_token: str
) -> None:
    first = province.paths[province.runs["TL-REPACK-01"][0][2]]
    assert client.get(first, headers=JSON).json["verdict"] == "GENUINE"  # story now cached
    make_tampered(session, province, "TL-REPACK-01")
    app.extensions["stamp_stories"].clear()  # the cached story expires; no sweep has run
    for serial in (province.runs["TL-REPACK-01"][1][0], province.runs["TL-REPACK-01"][0][0]):
        said = surfaces(client, inspector_token, province.paths[serial])
        assert said.all() == {"TAMPERED"}
        assert "no longer matches what was anchored" in said.page_text
    assert session.get(Lot, province.lot_ids["TL-REPACK-01"]).tampered_at is not None  # type: ignore[union-attr]
    # The lot it was made from, and the other farm's lots, are untouched.
    for code in ("TL-1", "TL-2", "TL-2B"):
        path = province.paths[province.runs[code][1][0]]
        assert client.get(path, headers=JSON).json["verdict"] == "GENUINE", code


def test_the_api_alone_finds_a_tampered_lot_without_a_scan(
    app: Flask, client: Any, session: Session, province: Province, inspector_token: str
) -> None:
    make_tampered(session, province, "TL-2")
    app.extensions["stamp_stories"].clear()
    serial = province.runs["TL-2"][0][0]
    bearer = {"Authorization": f"Bearer {inspector_token}"}
    assert client.get(f"/api/v1/stamps/{serial}", headers=bearer).json["verdict"] == "TAMPERED"
    assert client.get(province.paths[serial], headers=JSON).json["verdict"] == "TAMPERED"


def test_the_inspection_report_states_the_lot_verdict(
    client: Any,
    session: Session,
    admin: User,
    province: Province,
    inspector_token: str,
    read_pdf_page: Callable[..., tuple[Any, str]],
) -> None:
    make_tampered(session, province, "TL-1")
    suspend(session, admin, province.farms["b"])
    bearer = {"Authorization": f"Bearer {inspector_token}"}

    def verdict_line(code: str) -> str:
        response = client.get(
            f"/api/v1/batches/{province.lot_ids[code]}/report.pdf", headers=bearer
        )
        assert response.status_code == 200
        _image, page_text = read_pdf_page(response.data, 0, dpi=50)
        return page_text

    assert "TAMPERED" in verdict_line("TL-1")
    assert "PRODUCER_SUSPENDED" in verdict_line("TL-2B")
    assert "GENUINE" in verdict_line("TL-REPACK-01")


def test_quantities_are_written_as_people_write_them(
    login_as: Callable[[str], Any], session: Session, province: Province
) -> None:
    farm = province.farms["a"]
    big = lots.create_lot(
        session,
        farm.actor,
        lots.NewLot(farm.product_id, "TL-1200", date.today() - timedelta(days=1), "1200", "kg"),
        date.today(),
    )
    browser = login_as(farm.email)
    pages = ("/lots/", f"/lots/{big.id}", f"/lots/{big.id}/stamps")
    for lang, expected in (("vi", "1.200 kg"), ("en", "1,200 kg")):
        for address in pages:
            html = browser.get(f"{address}?lang={lang}").get_data(as_text=True)
            assert expected in html, (lang, address)
            assert "E+" not in html, (lang, address)
    repack = province.lot_ids["TL-REPACK-01"]
    english = browser.get(f"/lots/{repack}?lang=en").get_data(as_text=True)
    assert "100 kg" in english and "100.000" not in english and "1E+2" not in english

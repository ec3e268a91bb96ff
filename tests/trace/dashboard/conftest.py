"""A small province with stamps, scans, flags, listings, certificates and anchoring rounds.

Rows the services would write over months are inserted directly with chosen timestamps,
so charts have history; producers, products and lots go through the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from marketplace.models import ListingSync
from stamps.models import Scan, ScanPlace, Stamp, StampFlag, StampRun
from tests.conftest import FAST_HASH
from tests.registry_fixtures import PASSWORD, profile
from trace.models import (
    Alert,
    AnchorRound,
    Event,
    Lot,
    LotDocument,
    ProducerStatus,
    Role,
    User,
)
from trace.services import accounts, holdings, lots

NOW = datetime.now(UTC)


@dataclass
class Province:
    """What the fixture made, for tests that look for (or must not find) it."""

    lot_ids: list[int] = field(default_factory=list)
    household_name: str = ""
    household_certificate: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


FARMS = (
    # n, kind, district as typed, category, registration number, phone
    (1, "cooperative", "Huyện Châu Thành", "fruit", "1100000001", "0912 000 001"),
    (2, "household", "huyện Bến Lức", "grain", "079185001234", "0909 000 002"),
    (3, "company", "TP. Tân An", "seafood", "1100000003", "0272 000 003"),
    (4, "company", "Thủ Đức", "vegetable", "0300000004", "0283 000 004"),
)


@pytest.fixture
def province(session: Session, admin: User) -> Province:
    made = Province()
    for n, kind, district, category, number, phone in FARMS:
        lot_id = _farm(session, admin, made, n, kind, district, category, number, phone)
        made.lot_ids.append(lot_id)
    _pending_producer(session, made)
    _stamps_and_scans(session, made.lot_ids)
    _scan_places_and_reviews(session)
    _oversight(session, made.lot_ids)
    _listings(session)
    _anchoring(session, made.lot_ids)
    session.commit()
    return made


def _farm(session, admin, made, n, kind, district, category, number, phone) -> int:  # type: ignore[no-untyped-def]
    email = f"farmer{n}@example.vn"
    name = f"Hộ Nguyễn Văn {n}" if kind == "household" else f"HTX Long An {n}"
    details = profile(n, name=name, kind=kind, district=district, registration_number=number)
    details = type(details)(**{**details.__dict__, "phone": phone})
    user = accounts.register_producer(
        session, accounts.Registration(email, PASSWORD, f"Farmer {n}", details), FAST_HASH
    )
    accounts.set_producer_status(
        session, accounts.actor_for(admin), user.producer_id, ProducerStatus.APPROVED
    )
    actor = accounts.actor_for(user)
    made.phones.append(phone)
    made.emails.append(email)
    certificate = f"VG-LA-{n:04d}"
    if kind == "household":
        made.household_name, made.household_certificate = name, certificate
    today = date.today()
    for index, (ends, scheme) in enumerate(((10, "vietgap"), (45, "ocop"), (200, "organic"))):
        holdings.add_certification(
            session,
            actor,
            scheme=scheme,
            number=f"{certificate}-{index}" if index else certificate,
            issuer="Trung tâm Chứng nhận Long An",
            valid_from=today - timedelta(days=300),
            valid_to=today + timedelta(days=ends + n),
            upload_folder="",
            max_bytes=0,
            ocop_stars=4 if scheme == "ocop" else None,
        )
    product = holdings.add_product(
        session,
        actor,
        name_vi=f"Sản phẩm {n}",
        name_en=f"Product {n}",
        category=category,
        unit="kg",
        gtin=None,
    )
    lot = lots.create_lot(
        session,
        actor,
        lots.NewLot(product.id, f"L-{n}", today - timedelta(days=2), "900000", "kg", None),
        today,
    )
    return lot.id  # type: ignore[return-value]


def _pending_producer(session: Session, made: Province) -> None:
    details = profile(9, name="HTX Chờ Duyệt", district="Huyện Đức Hòa", phone="0977 000 009")
    accounts.register_producer(
        session,
        accounts.Registration("pending@example.vn", PASSWORD, "Pending", details),
        FAST_HASH,
    )
    made.phones.append("0977 000 009")


def month_start(back: int) -> datetime:
    """The UTC instant a Vietnam-time month began, ``back`` months before this one."""
    local = NOW + timedelta(hours=7)
    y, m = divmod(local.year * 12 + local.month - 1 - back, 12)
    return datetime(y, m + 1, 1, tzinfo=UTC) - timedelta(hours=7)


def _stamps_and_scans(session: Session, lot_ids: list[int]) -> None:
    creator = session.get(User, 1)
    assert creator is not None and creator.role == Role.ADMIN
    serial = 0
    for position, lot_id in enumerate(lot_ids):
        for back, count in ((13, 5), (2, 20 + position), (0, 7)):
            run = StampRun(
                lot_id=lot_id,
                count=count,
                pack_size=Decimal(1),
                created_by_id=creator.id,
                created_at=month_start(back) + timedelta(days=3),
            )
            session.add(run)
            session.flush()
            stamps = [
                Stamp(serial=f"S{(serial := serial + 1):09d}", lot_id=lot_id, run_id=run.id)
                for _ in range(count)
            ]
            session.add_all(stamps)
            session.flush()
            _scan(session, stamps, position)
    session.flush()


def _scan(session: Session, stamps: list[Stamp], position: int) -> None:
    """Scans spread over months, some either side of a month boundary in Vietnam time."""
    moments = [
        month_start(1) - timedelta(minutes=30),  # two months back, in Vietnam time
        month_start(1) + timedelta(minutes=30),
        month_start(3) + timedelta(days=4),
        month_start(30) + timedelta(days=1),  # outside every period
        NOW - timedelta(minutes=5),
    ]
    for index, stamp in enumerate(stamps[: 3 + position]):
        for moment in moments[: 1 + (index + position) % len(moments)]:
            session.add(Scan(stamp_id=stamp.id, scanned_at=moment, client_hash="0" * 64))
            stamp.scan_count += 1
        if index % 2 == 0:
            rule = ("scan_threshold", "impossible_travel", "void_scan")[index % 3]
            session.add(StampFlag(stamp_id=stamp.id, rule=rule, created_at=moments[index % 3]))
        session.add(stamp)


def _scan_places_and_reviews(session: Session) -> None:
    """Every third scan's consumer shared a place; some flags were reviewed."""
    from sqlmodel import col, select

    rows = session.exec(select(Scan, Stamp.lot_id).join(Stamp, col(Stamp.id) == Scan.stamp_id))
    places = ("tan-an", "elsewhere", "ben-luc", "unknown")
    for index, (scan, lot_id) in enumerate(rows.all()):
        if index % 3 == 0:
            district = places[(index // 3) % len(places)]
            session.add(
                ScanPlace(
                    scan_id=scan.id, lot_id=lot_id, scanned_at=scan.scanned_at, district=district
                )
            )
    for index, flag in enumerate(session.exec(select(StampFlag)).all()):
        flag.review = ("open", "confirmed", "dismissed")[index % 3]
        session.add(flag)


def _oversight(session: Session, lot_ids: list[int]) -> None:
    """Recalls, tampering, inspections (one corrected) and alerts, some outside every period."""
    lots_ = [session.get(Lot, lot_id) for lot_id in lot_ids]
    lots_[0].recalled_at = NOW - timedelta(days=10)
    lots_[1].recalled_at = month_start(30)  # outside every period
    lots_[2].tampered_at = NOW - timedelta(days=40)
    lots_[3].recalled_at = NOW - timedelta(days=1)  # "Thủ Đức": other
    session.add_all(lots_)

    def inspection(lot: Lot, result: str, back: timedelta, supersedes: int | None = None) -> Event:
        event = Event(
            lot_id=lot.id,
            producer_id=lot.producer_id,
            kind="inspection",
            occurred_at=NOW - back,
            tz_offset_minutes=420,
            place="",
            recorded_by_id=1,
            supersedes_id=supersedes,
            details={"result": result},
        )
        session.add(event)
        session.flush()
        return event

    inspection(lots_[0], "pass", timedelta(days=5))
    inspection(lots_[1], "fail", timedelta(days=6))
    wrong = inspection(lots_[2], "pass", timedelta(days=7))
    inspection(lots_[2], "fail", timedelta(days=7), supersedes=wrong.id)
    inspection(lots_[0], "fail", timedelta(days=900))  # outside every period
    session.add_all(
        [
            Alert(
                kind="recall",
                message="m",
                lot_id=lots_[0].id,
                producer_id=lots_[0].producer_id,
                district="Huyện Châu Thành",
            ),
            Alert(
                kind="tamper_detected",
                message="m",
                lot_id=lots_[2].id,
                producer_id=lots_[2].producer_id,
                district="TP. Tân An",
            ),
            Alert(kind="anchoring_failing", message="m"),  # province-wide: no district
        ]
    )


def _listings(session: Session) -> None:
    from sqlmodel import select

    from trace.models import Product

    products = session.exec(select(Product).order_by(Product.id)).all()
    states = ("listed", "failed", "draft", "listed")
    for product, state in zip(products, states, strict=False):
        for marketplace in ("postmart", "voso"):
            session.add(
                ListingSync(
                    product_id=product.id,
                    producer_id=product.producer_id,
                    marketplace=marketplace,
                    price_vnd=50000,
                    stock=10,
                    state=state if marketplace == "postmart" else "listed",
                )
            )


def _anchoring(session: Session, lot_ids: list[int]) -> None:
    confirmed = AnchorRound(
        root="a" * 64, leaf_count=2, status="confirmed", created_at=month_start(2)
    )
    failed = AnchorRound(root="b" * 64, leaf_count=1, status="failed", created_at=month_start(0))
    session.add_all([confirmed, failed])
    session.flush()
    waits = (None, timedelta(minutes=10), timedelta(hours=5), timedelta(days=3))
    for lot_id, wait in zip(lot_ids, waits, strict=True):
        round_id = confirmed.id if wait is None else (failed.id if lot_id % 2 else None)
        session.add(
            LotDocument(
                lot_id=lot_id,
                version=1,
                canonical_json="{}",
                doc_hash="c" * 64,
                round_id=round_id,
                created_at=NOW - (wait or timedelta(days=40)),
            )
        )

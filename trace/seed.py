"""The demo province: three Long An producers with plots, certificates, products and lots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import func
from sqlmodel import Session, select

from trace.models import ProducerStatus, Role, User
from trace.services import accounts, events, holdings, lots
from trace.services.access import Actor
from trace.services.producers import ProducerProfile

DEMO_PASSWORD = "longan-demo-2026"
VN = timezone(timedelta(hours=7))

FARMS = [
    {
        "email": "thanhlong@demo.agritrace.vn",
        "full_name": "Nguyễn Văn Hùng",
        "profile": ProducerProfile(
            "HTX Thanh Long Châu Thành",
            "cooperative",
            "1101234567",
            "Ấp Phú Thạnh",
            "Xã An Lục Long",
            "Huyện Châu Thành",
            "Long An",
            "0272 3877 123",
            None,
            "893600123",
        ),
        "plot": ("Vườn thanh long số 1", "2.5", "10.4557", "106.5029"),
        "product": ("Thanh long ruột đỏ", "Red dragon fruit", "fruit", "kg"),
        "lot": ("TL-2611-01", "1200", 12),
        "input": ("Phân bón NPK 20-20-15", "3 kg / gốc", 7),
    },
    {
        "email": "chanh@demo.agritrace.vn",
        "full_name": "Trần Thị Mai",
        "profile": ProducerProfile(
            "Hộ Trần Thị Mai — chanh không hạt",
            "household",
            "079185001234",
            "Ấp 3",
            "Xã Lương Hòa",
            "Huyện Bến Lức",
            "Long An",
            "0909 456 789",
            None,
            "893600124",
        ),
        "plot": ("Vườn chanh Lương Hòa", "1.2", "10.6373", "106.4885"),
        "product": ("Chanh không hạt", "Seedless lemon", "fruit", "kg"),
        "lot": ("CKH-2611-A", "800", 5),
        "input": ("Thuốc trừ sâu sinh học Bt", "20 ml / bình 16 l", 3),
    },
    {
        "email": "lua@demo.agritrace.vn",
        "full_name": "Lê Văn Tâm",
        "profile": ProducerProfile(
            "Công ty TNHH Lúa gạo Cần Đước",
            "company",
            "1100987654",
            "Quốc lộ 50",
            "Xã Tân Trạch",
            "Huyện Cần Đước",
            "Long An",
            "0272 3711 222",
            None,
            "893600125",
        ),
        "plot": ("Cánh đồng lớn Tân Trạch", "15", "10.5071", "106.6020"),
        "product": ("Lúa ST25", "ST25 paddy rice", "grain", "kg"),
        "lot": ("ST25-HT-2611", "20000", 20),
        "input": ("Phân đạm urê", "100 kg / ha", 0),
    },
]


def seed_demo(
    session: Session, hash_method: str, today: date | None = None
) -> list[tuple[str, str]]:
    """Create the demo accounts and data through the services; no-op when users exist.

    :returns: the (email, role) of each account created.
    """
    if session.exec(select(func.count()).select_from(User)).one():
        return []
    today = today or date.today()
    admin = accounts.create_user(
        session,
        "admin@demo.agritrace.vn",
        DEMO_PASSWORD,
        Role.ADMIN,
        hash_method,
        full_name="Quản trị viên Sở NN&PTNT",
    )
    accounts.create_user(
        session,
        "inspector@demo.agritrace.vn",
        DEMO_PASSWORD,
        Role.INSPECTOR,
        hash_method,
        full_name="Thanh tra Chi cục QLCL",
    )
    admin_actor = accounts.actor_for(admin)
    logins = [(admin.email, "admin"), ("inspector@demo.agritrace.vn", "inspector")]
    for farm in FARMS:
        _seed_farm(session, farm, admin_actor, hash_method, today)
        logins.append((str(farm["email"]), "farmer"))
    return logins


def _seed_farm(
    session: Session,
    farm: dict,
    admin: Actor,
    hash_method: str,
    today: date,  # type: ignore[type-arg]
) -> None:
    user = accounts.register_producer(
        session,
        accounts.Registration(farm["email"], DEMO_PASSWORD, farm["full_name"], farm["profile"]),
        hash_method,
    )
    assert user.producer_id is not None
    accounts.set_producer_status(session, admin, user.producer_id, ProducerStatus.APPROVED)
    farmer = accounts.actor_for(user)
    plot = holdings.add_plot(session, farmer, *farm["plot"])
    name_vi, name_en, category, unit = farm["product"]
    product = holdings.add_product(
        session, farmer, name_vi=name_vi, name_en=name_en, category=category, unit=unit, gtin=None
    )
    holdings.add_certification(
        session,
        farmer,
        scheme="vietgap",
        number=f"VG-LA-{user.producer_id:04d}",
        issuer="Trung tâm Chứng nhận VietGAP Long An",
        valid_from=today - timedelta(days=300),
        valid_to=today + timedelta(days=430),
        upload_folder="",
        max_bytes=0,
        product_ids=[product.id],  # type: ignore[list-item]
    )
    code, quantity, days_ago = farm["lot"]
    harvest = today - timedelta(days=days_ago)
    lot = lots.create_lot(
        session, farmer, lots.NewLot(product.id, code, harvest, quantity, unit, plot.id), today
    )
    _seed_events(session, farmer, lot.id, harvest, plot.name, farm["input"])  # type: ignore[arg-type]


def _seed_events(
    session: Session,
    farmer: Actor,
    lot_id: int,
    harvest: date,
    place: str,
    input_: tuple[str, str, int],
) -> None:
    def at(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=VN)

    name, dose, phi = input_
    steps = [
        events.NewEvent("planting", at(harvest - timedelta(days=120), 7), place),
        events.NewEvent(
            "input_application",
            at(harvest - timedelta(days=phi + 5), 6),
            place,
            {"input_name": name, "dose": dose, "phi_days": phi},
        ),
        events.NewEvent("harvest", at(harvest, 6), place),
        events.NewEvent("cooling", at(harvest, 10), place, {"temperature_c": 8}),
        events.NewEvent("initial_packing", at(harvest, 14), place),
    ]
    for step in steps:
        if step.occurred_at is not None and step.occurred_at <= datetime.now(UTC):
            events.record_event(session, farmer, lot_id, step)

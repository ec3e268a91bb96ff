"""The scale seed's registry half: Long An's producers, products, lots, events and documents.

Everything is written with bulk statements (PostgreSQL ``COPY``, SQLAlchemy Core
``executemany`` on SQLite) under explicit ids, in the caller's transaction; the stamp and
scan half lives in ``stamps/province_seed.py`` and calls in here.
"""

from __future__ import annotations

import json
import math
import random
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from sqlmodel import Session as SQLModelSession
from sqlmodel import col
from werkzeug.security import generate_password_hash

from trace.anchoring.documents import build_documents
from trace.anchoring.lot_document import encoded, stored_stamp_root
from trace.gs1 import gs1_check_digit, gtin_from_company_prefix
from trace.models import Certification, Event, Lot, Plot, Producer, Product, User

T = TypeVar("T")
SEED_EMAIL = "seed@scale.agritrace.vn"
LONG_AN_2023 = {"producers": 56_926, "products": 8_047, "facilities": 14, "stamps": 1_700_000}
STAMPS_PER_LOT = 1_200  # stamped packs per facility lot
SCAN_THRESHOLD = 50  # the products' scans-per-stamp limit before SUSPICIOUS
FACILITY_PRODUCTS = 4  # products per certified facility
VN_MINUTES = 420
COPY_CHUNK = 20_000
DOCUMENT_CHUNK = 1_000  # lots whose documents are built from one set of bulk reads
MAX_FACTOR = 20  # company prefixes 893700000.. leave room for ~300,000 product owners

# Long An's districts (before the 2025 merger into Tây Ninh), a centre and real communes.
DISTRICTS: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "Thành phố Tân An": (
        10.535,
        106.413,
        ("Phường 1", "Phường 3", "Xã Hướng Thọ Phú", "Xã Lợi Bình Nhơn", "Xã Bình Tâm"),
    ),
    "Thị xã Kiến Tường": (
        10.775,
        105.920,
        ("Phường 1", "Phường 2", "Xã Bình Hiệp", "Xã Tuyên Thạnh"),
    ),
    "Huyện Bến Lức": (
        10.640,
        106.490,
        (
            "Thị trấn Bến Lức",
            "Xã Lương Hòa",
            "Xã Thạnh Đức",
            "Xã Phước Lợi",
            "Xã Mỹ Yên",
            "Xã Nhựt Chánh",
        ),
    ),
    "Huyện Cần Đước": (
        10.505,
        106.600,
        ("Thị trấn Cần Đước", "Xã Tân Trạch", "Xã Long Hựu Đông", "Xã Phước Đông", "Xã Mỹ Lệ"),
    ),
    "Huyện Cần Giuộc": (
        10.605,
        106.670,
        ("Thị trấn Cần Giuộc", "Xã Phước Lý", "Xã Long Thượng", "Xã Tân Kim", "Xã Đông Thạnh"),
    ),
    "Huyện Châu Thành": (
        10.455,
        106.500,
        (
            "Thị trấn Tầm Vu",
            "Xã An Lục Long",
            "Xã Thanh Phú Long",
            "Xã Dương Xuân Hội",
            "Xã Hiệp Thạnh",
        ),
    ),
    "Huyện Đức Hòa": (
        10.880,
        106.420,
        ("Thị trấn Hậu Nghĩa", "Thị trấn Đức Hòa", "Xã Đức Hòa Hạ", "Xã Hựu Thạnh", "Xã Tân Mỹ"),
    ),
    "Huyện Đức Huệ": (
        10.860,
        106.260,
        ("Thị trấn Đông Thành", "Xã Mỹ Thạnh Đông", "Xã Bình Hòa Nam", "Xã Mỹ Quý Tây"),
    ),
    "Huyện Thủ Thừa": (
        10.600,
        106.400,
        ("Thị trấn Thủ Thừa", "Xã Mỹ Phú", "Xã Bình Thạnh", "Xã Nhị Thành"),
    ),
    "Huyện Tân Trụ": (
        10.515,
        106.505,
        ("Thị trấn Tân Trụ", "Xã Bình Lãng", "Xã Nhựt Ninh", "Xã Quê Mỹ Thạnh"),
    ),
    "Huyện Thạnh Hóa": (
        10.665,
        106.170,
        ("Thị trấn Thạnh Hóa", "Xã Thuận Nghĩa Hòa", "Xã Tân Đông", "Xã Thạnh Phước"),
    ),
    "Huyện Tân Thạnh": (
        10.600,
        105.950,
        ("Thị trấn Tân Thạnh", "Xã Hậu Thạnh Đông", "Xã Nhơn Hòa Lập", "Xã Tân Hòa"),
    ),
    "Huyện Mộc Hóa": (10.760, 105.980, ("Xã Bình Phong Thạnh", "Xã Bình Hòa Tây", "Xã Tân Thành")),
    "Huyện Tân Hưng": (10.830, 105.660, ("Thị trấn Tân Hưng", "Xã Hưng Điền", "Xã Vĩnh Châu A")),
    "Huyện Vĩnh Hưng": (
        10.880,
        105.770,
        ("Thị trấn Vĩnh Hưng", "Xã Tuyên Bình", "Xã Khánh Hưng", "Xã Thái Trị"),
    ),
}
# (code, Vietnamese name, English name, category, input applied, dose, PHI days)
CROPS = (  # fmt: skip
    ("TL", "Thanh long ruột đỏ", "Red dragon fruit", "fruit", "Phân NPK 20-20-15", "3 kg / gốc", 7),
    (
        "CKH",
        "Chanh không hạt",
        "Seedless lime",
        "fruit",
        "Thuốc trừ sâu sinh học Bt",
        "20 ml / bình 16 l",
        3,
    ),
    ("ST25", "Gạo ST25", "ST25 rice", "grain", "Phân đạm urê", "100 kg / ha", 0),
    (
        "NTCD",
        "Gạo Nàng Thơm Chợ Đào",
        "Nang Thom Cho Dao rice",
        "grain",
        "Phân lân",
        "300 kg / ha",
        0,
    ),
    ("KHOM", "Khóm Bến Lức", "Ben Luc pineapple", "fruit", "Phân kali", "10 g / cây", 14),
    ("DH", "Dưa hấu", "Watermelon", "fruit", "Chế phẩm Trichoderma", "2 kg / 1000 m²", 5),
    ("BN", "Bắp nếp", "Waxy corn", "vegetable", "Phân NPK 16-16-8", "250 kg / ha", 7),
    ("DP", "Đậu phộng", "Peanuts", "grain", "Vôi bột", "500 kg / ha", 0),
    ("KM", "Khoai mỡ", "Purple yam", "vegetable", "Phân hữu cơ vi sinh", "1 tấn / ha", 0),
    ("OI", "Ổi nữ hoàng", "Queen guava", "fruit", "Dầu khoáng SK99", "50 ml / bình 16 l", 7),
    ("RM", "Rau muống", "Water spinach", "vegetable", "Phân cá", "20 l / 1000 m²", 3),
    ("SEN", "Hạt sen Tháp Mười", "Lotus seeds", "grain", "Phân hữu cơ", "200 kg / ha", 0),
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh", "Kim", "Quốc")
GIVEN = ("Hùng", "Mai", "Tâm", "Lan", "Phúc", "Hòa", "Dũng", "Hạnh", "Sơn", "Thảo", "Tài", "Bình")
SCHEMES = ("vietgap", "globalgap", "organic", "ocop")
ISSUERS = {
    "vietgap": "Trung tâm Chứng nhận VietGAP Long An",
    "globalgap": "Control Union Việt Nam",
    "organic": "Văn phòng Chứng nhận Hữu cơ Việt Nam",
    "ocop": "UBND tỉnh Long An",
}


class AlreadySeeded(RuntimeError):
    """The database already holds a scale seed; seeding twice would duplicate a province."""


@dataclass(frozen=True)
class ScalePlan:
    """How many of each thing a factor of Long An's 2023 size means."""

    factor: float
    producers: int
    products: int
    facilities: int
    stamps: int
    stamped_lots: int

    @classmethod
    def for_factor(cls, factor: float) -> ScalePlan:
        """The counts at ``factor`` times Long An (1 = Long An 2023, 10 = province-wide).

        :raises ValueError: a factor that is not positive or above 100.
        """
        if not 0 < factor <= MAX_FACTOR:
            raise ValueError(f"The factor must be above 0 and at most {MAX_FACTOR}.")
        size = {key: max(1, round(value * factor)) for key, value in LONG_AN_2023.items()}
        facilities = size["facilities"]
        products = max(size["products"], 2 * facilities)
        stamped_lots = max(facilities, math.ceil(size["stamps"] / STAMPS_PER_LOT))
        producers = max(size["producers"], products)
        return cls(factor, producers, products, facilities, size["stamps"], stamped_lots)


@dataclass
class Registry:
    """What the registry half wrote, kept in memory for the stamp half and the documents."""

    admin_id: int
    producers: dict[int, Producer] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    lots: dict[int, Lot] = field(default_factory=dict)
    plots: dict[int, Plot] = field(default_factory=dict)
    users_by_producer: dict[int, int] = field(default_factory=dict)
    certifications: dict[int, list[Certification]] = field(default_factory=dict)
    covered_products: list[tuple[int, int]] = field(default_factory=list)  # (cert, product)
    events: dict[int, list[Event]] = field(default_factory=dict)
    stamped_lot_ids: list[int] = field(default_factory=list)


def is_seeded(session: Session) -> bool:
    """Whether a scale seed already ran on this database."""
    found = session.execute(select(func.count()).where(col(User.email) == SEED_EMAIL)).scalar_one()
    return bool(found)


def bulk_insert(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],  # type: ignore[type-arg]
) -> int:
    """Write rows in the session's transaction: ``COPY`` on PostgreSQL, Core executemany else.

    :returns: how many rows were written.
    """
    connection = session.connection()
    count = 0
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([_jsonable(value) for value in row])
                count += 1
        return count
    statement = insert(_table(table))
    for chunk in _chunks(rows, COPY_CHUNK):
        connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in chunk])
        count += len(chunk)
    return count


def _jsonable(value: Any) -> Any:
    """JSON columns take text in COPY; everything else psycopg adapts itself."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def next_ids(session: Session, table: str) -> int:
    """The first free id of a table (the seed writes explicit ids)."""
    return int(session.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar_one())


def analyze(session: Session, tables: Iterable[str]) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (else it guesses seq scans)."""
    if session.connection().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def sync_sequences(session: Session, tables: Iterable[str]) -> None:
    """After explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    if session.connection().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def seed_registry(session: Session, plan: ScalePlan, rng: random.Random, today: date) -> Registry:
    """Write producers, users, plots, certifications, products, lots and events.

    :raises AlreadySeeded: the database already holds a scale seed.
    """
    if is_seeded(session):
        raise AlreadySeeded("This database already holds a scale seed.")
    registry = Registry(admin_id=_write_users(session, [(SEED_EMAIL, "admin", None, "")])[0])
    _build_producers(session, registry, plan, rng)
    owners = _build_holdings(session, registry, plan, rng, today)
    _build_products_and_lots(session, registry, plan, rng, today, owners)
    _write_registry(session, registry, rng)
    tables = ["users", "producers", "plots", "certifications", "products", "lots", "events"]
    sync_sequences(session, tables)
    return registry


def _write_users(session: Session, users: Sequence[tuple[str, str, int | None, str]]) -> list[int]:
    # Seeded accounts cannot log in: one random password nobody knows (set a real one to use).
    unusable = generate_password_hash(secrets.token_urlsafe(24), "pbkdf2:sha256:1000")
    first, now = next_ids(session, "users"), datetime.now(UTC)
    rows = [
        (first + i, email, unusable, name, role, producer, True, now)
        for i, (email, role, producer, name) in enumerate(users)
    ]
    columns = (
        "id",
        "email",
        "password_hash",
        "full_name",
        "role",
        "producer_id",
        "is_active",
        "created_at",
    )
    bulk_insert(session, "users", columns, rows)
    return [row[0] for row in rows]


def _build_producers(
    session: Session, registry: Registry, plan: ScalePlan, rng: random.Random
) -> None:
    first = next_ids(session, "producers")
    districts = list(DISTRICTS)
    created = datetime.now(UTC) - timedelta(days=400)
    for i in range(plan.producers):
        district = districts[i % len(districts)]
        commune = rng.choice(DISTRICTS[district][2])
        kind = "cooperative" if i < plan.facilities else _kind(rng)
        crop = CROPS[i % len(CROPS)][1]
        name = {
            "household": f"Hộ {_person(rng)}",
            "cooperative": f"HTX {crop} {commune.removeprefix('Xã ')}",
            "company": f"Công ty TNHH {crop} {district.split(' ', 1)[1]} {i}",
        }[kind]
        registration = f"080{i:09d}" if kind == "household" else f"1102{i:06d}"
        registry.producers[first + i] = Producer(
            id=first + i, name=name[:200], kind=kind, registration_number=registration,
            address_line=f"Ấp {1 + i % 9}", commune=commune, district=district,
            province="Long An", phone=f"0272 {3_000_000 + i % 7_000_000:07d}",
            status="approved", created_at=created, status_changed_at=created,
        )  # fmt: skip


def _kind(rng: random.Random) -> str:
    roll = rng.random()
    return "household" if roll < 0.86 else "cooperative" if roll < 0.96 else "company"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _build_holdings(
    session: Session, registry: Registry, plan: ScalePlan, rng: random.Random, today: date
) -> list[int]:
    """Company prefixes, plots and certificates for the producers that sell products.

    :returns: the product owners, certified facilities first.
    """
    producer_ids = list(registry.producers)
    facility_ids = producer_ids[: plan.facilities]
    wanted = math.ceil(max(0, plan.products - FACILITY_PRODUCTS * plan.facilities) / 2)
    others = producer_ids[plan.facilities :]
    owners = facility_ids + rng.sample(others, min(wanted, len(others)))
    plot_id, cert_id = next_ids(session, "plots"), next_ids(session, "certifications")
    for n, producer_id in enumerate(owners):
        producer, facility = registry.producers[producer_id], n < plan.facilities
        producer.company_prefix = f"893{700_000 + n:06d}"
        if facility:
            producer.gln = producer.company_prefix + "000"
            producer.gln += gs1_check_digit(producer.gln)
        registry.plots[producer_id] = _plot(plot_id + n, producer, facility, rng)
        schemes = SCHEMES[: 4 - n % 4] if facility else ("vietgap",) * (rng.random() < 0.12)
        for scheme in schemes:
            certificate = _certification(cert_id, producer_id, scheme, rng, today)
            registry.certifications.setdefault(producer_id, []).append(certificate)
            cert_id += 1
    return owners


def _plot(plot_id: int, producer: Producer, facility: bool, rng: random.Random) -> Plot:
    lat, lon, _ = DISTRICTS[producer.district]
    return Plot(
        id=plot_id,
        producer_id=_id(producer),
        name=f"Ruộng {producer.commune}",
        area_ha=round(rng.uniform(0.3, 40.0 if facility else 3.0), 2),
        latitude=round(lat + rng.uniform(-0.05, 0.05), 5),
        longitude=round(lon + rng.uniform(-0.05, 0.05), 5),
        created_at=producer.created_at,
    )


def _certification(
    cert_id: int, producer_id: int, scheme: str, rng: random.Random, today: date
) -> Certification:
    start = today - timedelta(days=rng.randint(100, 900))  # some have expired
    return Certification(
        id=cert_id,
        producer_id=producer_id,
        scheme=scheme,
        ocop_stars=rng.choice((3, 4, 5)) if scheme == "ocop" else None,
        number=f"{scheme.upper()}-LA-{cert_id:06d}",
        issuer=ISSUERS[scheme],
        valid_from=start,
        valid_to=start + timedelta(days=1095 if scheme == "ocop" else 730),
        # OCOP stars rate one product (named after the products exist); farm standards
        # cover all of the producer's products.
        producer_wide=scheme != "ocop",
        created_at=datetime.combine(start, datetime.min.time(), UTC),
    )


def _build_products_and_lots(
    session: Session,
    registry: Registry,
    plan: ScalePlan,
    rng: random.Random,
    today: date,
    owners: list[int],
) -> None:
    """Four products per facility, about two per other owner; a lot each, more for facilities."""
    first, items = next_ids(session, "products"), dict.fromkeys(owners, 0)
    facility_share, others = FACILITY_PRODUCTS * plan.facilities, owners[plan.facilities :]
    for n in range(plan.products):
        if n < facility_share or not others:
            owner = owners[n % plan.facilities]
        else:
            owner = others[(n - facility_share) // 2 % len(others)]
        registry.products[first + n] = _product(first + n, registry.producers[owner], items[owner])
        items[owner] += 1
    _name_rated_products(registry)
    product_ids = list(registry.products)
    lot_id = next_ids(session, "lots")
    facility_products = product_ids[: min(facility_share, len(product_ids))]
    stamped = [facility_products[n % len(facility_products)] for n in range(plan.stamped_lots)]
    for n, product_id in enumerate(stamped + product_ids[facility_share:]):
        lot = _lot(lot_id + n, registry.products[product_id], registry, rng, today)
        if n < len(stamped):
            registry.stamped_lot_ids.append(_id(lot))
        registry.lots[_id(lot)] = lot
        registry.events[_id(lot)] = []


def _name_rated_products(registry: Registry) -> None:
    """Each OCOP certificate names its producer's first product, the one it rated."""
    first_product: dict[int, int] = {}
    for product in registry.products.values():
        first_product.setdefault(product.producer_id, _id(product))
    for producer_id, certificates in registry.certifications.items():
        for certificate in certificates:
            if not certificate.producer_wide and producer_id in first_product:
                registry.covered_products.append((_id(certificate), first_product[producer_id]))


def _product(product_id: int, producer: Producer, item: int) -> Product:
    code, name_vi, name_en, category, *_ = CROPS[product_id % len(CROPS)]
    pack = pack_size_of(product_id)
    return Product(
        id=product_id,
        producer_id=_id(producer),
        name_vi=f"{name_vi} (gói {pack} kg)",
        name_en=f"{name_en} ({pack} kg pack)",
        category=category,
        unit="kg",
        gtin=gtin_from_company_prefix(producer.company_prefix or "", item),
        scan_threshold=SCAN_THRESHOLD,
        created_at=producer.created_at,
    )


def pack_size_of(product_id: int) -> int:
    """Kilograms per stamped pack of a seeded product (1 to 5)."""
    return 1 + product_id % 5


def _lot(lot_id: int, product: Product, registry: Registry, rng: random.Random, today: date) -> Lot:
    harvest = today - timedelta(days=rng.randint(3, 360))
    code = CROPS[_id(product) % len(CROPS)][0]
    quantity = Decimal(STAMPS_PER_LOT * 2 * pack_size_of(_id(product)))
    return Lot(
        id=lot_id,
        producer_id=product.producer_id,
        product_id=_id(product),
        plot_id=registry.plots[product.producer_id].id,
        code=f"{code}-{harvest:%y%m}-{lot_id % 100_000:05d}",
        harvest_date=harvest,
        quantity=quantity.quantize(Decimal("0.001")),
        unit="kg",
        stamp_count=0,
        created_at=_at(harvest, 16),
    )


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Vietnam local time as the aware UTC datetime the columns store."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(
        minutes=VN_MINUTES
    )


def _build_events(registry: Registry, first_id: int, rng: random.Random) -> None:
    """The five steps of every lot, and shipping for stamped (sold) lots, in time order."""
    stamped, event_id = set(registry.stamped_lot_ids), first_id
    for lot in registry.lots.values():
        product = registry.products[lot.product_id]
        _, _, _, _, input_name, dose, phi = CROPS[_id(product) % len(CROPS)]
        harvest, place = lot.harvest_date, registry.plots[lot.producer_id].name
        steps: list[tuple[str, datetime, dict[str, Any]]] = [
            ("planting", _at(harvest - timedelta(days=rng.randint(60, 150)), 7), {}),
            ("input_application", _at(harvest - timedelta(days=phi + rng.randint(2, 20)), 6),
             {"input_name": input_name, "dose": dose, "phi_days": phi}),
            ("harvest", _at(harvest, 6), {}),
            ("cooling", _at(harvest, 10), {"temperature_c": float(rng.choice((4, 6, 8, 10)))}),
            ("initial_packing", _at(harvest, 14), {}),
        ]  # fmt: skip
        if lot.id in stamped:
            market = {"destination": "Chợ đầu mối nông sản Bình Điền, TP. Hồ Chí Minh"}
            steps.append(("shipping", _at(harvest + timedelta(days=1), 5), market))
        for kind, when, details in steps:
            registry.events[_id(lot)].append(
                Event(
                    id=event_id,
                    lot_id=_id(lot),
                    producer_id=lot.producer_id,
                    kind=kind,
                    occurred_at=when,
                    tz_offset_minutes=VN_MINUTES,
                    place=place,
                    recorded_by_id=registry.users_by_producer[lot.producer_id],
                    recorded_at=when + timedelta(hours=2),
                    note="",
                    details=details,
                )
            )
            event_id += 1


COLUMNS: dict[str, tuple[str, ...]] = {
    "producers": ("id", "name", "kind", "registration_number", "address_line", "commune",
                  "district", "province", "phone", "gln", "company_prefix", "status",
                  "created_at", "status_changed_at"),
    "plots": ("id", "producer_id", "name", "area_ha", "latitude", "longitude", "created_at"),
    "certifications": ("id", "producer_id", "scheme", "ocop_stars", "number", "issuer",
                       "valid_from", "valid_to", "pdf_sha256", "pdf_filename", "created_at",
                       "producer_wide"),
    "products": ("id", "producer_id", "name_vi", "name_en", "category", "unit", "gtin",
                 "scan_threshold", "created_at"),
    "lots": ("id", "producer_id", "product_id", "plot_id", "code", "harvest_date", "quantity",
             "unit", "stamp_root", "stamp_count", "recalled_at", "tampered_at", "created_at"),
    "events": ("id", "lot_id", "producer_id", "kind", "occurred_at", "tz_offset_minutes",
               "place", "recorded_by_id", "recorded_at", "supersedes_id", "note", "details"),
}  # fmt: skip


def _write_registry(session: Session, registry: Registry, rng: random.Random) -> None:
    owners = sorted({p.producer_id for p in registry.products.values()})
    accounts = [
        (f"producer{owner}@scale.agritrace.vn", "farmer", owner, registry.producers[owner].name)
        for owner in owners
    ]
    _write_rows(session, "producers", registry.producers.values())
    registry.users_by_producer = dict(zip(owners, _write_users(session, accounts), strict=True))
    _write_rows(session, "plots", registry.plots.values())
    certificates = [c for group in registry.certifications.values() for c in group]
    _write_rows(session, "certifications", certificates)
    _write_rows(session, "products", registry.products.values())
    columns = ("certification_id", "product_id")
    bulk_insert(session, "certification_products", columns, registry.covered_products)
    _write_rows(session, "lots", registry.lots.values())
    _build_events(registry, next_ids(session, "events"), rng)
    _write_rows(session, "events", (e for group in registry.events.values() for e in group))
    analyze(session, ["producers", "plots", "certifications", "certification_products",
                      "products", "lots", "events", "users"])  # fmt: skip


def _write_rows(session: Session, table: str, objects: Iterable[Any]) -> int:
    columns = COLUMNS[table]
    return bulk_insert(session, table, columns, (_values(o, columns) for o in objects))


def _values(obj: Any, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(getattr(obj, column) for column in columns)


def write_lot_documents(session: SQLModelSession, registry: Registry) -> int:
    """Version 1 of every seeded lot's document, unanchored, so an anchoring round can run.

    The documents are built by the anchoring service's own builder from what the seed
    wrote (:func:`trace.anchoring.documents.build_documents`, a few lots at a time), so a
    seeded lot is intact when a scan or an integrity check rebuilds its document.

    :returns: how many documents were written.
    """
    first, now, written = next_ids(session, "lot_documents"), datetime.now(UTC), 0
    columns = ("id", "lot_id", "version", "canonical_json", "doc_hash", "stamp_root",
               "round_id", "lot_proof", "created_at")  # fmt: skip
    for lot_ids in _chunks(registry.lots, DOCUMENT_CHUNK):
        rows = [
            (first + written + n, lot_id, 1, *encoded(document),
             stored_stamp_root(document), None, None, now)
            for n, (lot_id, document) in enumerate(build_documents(session, lot_ids).items())
        ]  # fmt: skip
        written += bulk_insert(session, "lot_documents", columns, rows)
    sync_sequences(session, ["lot_documents"])
    analyze(session, ["lot_documents"])
    return written


def _id(row: Producer | Product | Lot | Certification) -> int:
    """The explicit id the seed gave a row (set when the row is built)."""
    assert row.id is not None
    return row.id


def _table(name: str) -> Any:
    from sqlmodel import SQLModel

    return SQLModel.metadata.tables[name]


def _chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

"""The open datasets: what each publishes, and the one query behind it.

Household producers are natural persons, so nothing is published that names or reaches
them: no producer rows, no producer id, no certificate number; only their district.
No dataset has phones, e-mails, addresses, accounts or raw scans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, case, exists, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from trace.dashboard.districts import (
    BY_KEY,
    DISTRICTS,
    ELSEWHERE,
    NOT_SHARED,
    UNKNOWN,
    district_key,
)
from trace.dashboard.filters import Filters
from trace.i18n import _l
from trace.models import Certification, Producer, ProducerKind, ProducerStatus, Product
from trace.models.registry import CertificationScheme
from trace.opendata.schema import Column
from trace.services.holdings import PRODUCT_CATEGORIES, PRODUCT_UNITS

LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_NAME = "CC BY 4.0"
SCAN_MONTHS = 24
ORGANISATIONS = (ProducerKind.COOPERATIVE, ProducerKind.COMPANY)
Rows = Iterator[dict[str, Any]]
#: (month, key of the district where scanned, scans): the stamps package's scan rollup.
ScanStatistics = Callable[[Session, Filters], list[tuple[str, str, int]]]


@dataclass(frozen=True)
class Dataset:
    """One published dataset: its columns and how to read its rows and update time."""

    name: str
    title: Any
    description: Any
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rows: Callable[[Session], Rows]
    modified: Callable[[Session], datetime | None]
    keywords: tuple[str, ...] = ()


def _records(session: Session, statement: Select[*tuple[Any, ...]]) -> Rows:
    """Stream labelled rows as records, with districts under their official names."""
    for row in session.execute(statement, execution_options={"yield_per": 2000}):
        record = dict(row._mapping)
        record["district"] = district_name(record["district"])
        yield record


def district_name(registered: str) -> str:
    """The official name of a registered district, or the text as registered."""
    key = district_key(registered)
    return BY_KEY[key].name if key != UNKNOWN else registered


def _today() -> date:
    return datetime.now(UTC).date()


def _approved() -> Any:
    return Producer.status == ProducerStatus.APPROVED


def _certified_now(today: date) -> Any:
    return exists().where(
        col(Certification.producer_id) == Producer.id,
        col(Certification.valid_from) <= today,
        col(Certification.valid_to) >= today,
    )


def _organisation_id() -> Any:
    """The producer id for organisations; null for households (they are persons)."""
    return case((col(Producer.kind).in_(ORGANISATIONS), Producer.id), else_=None).label(
        "producer_id"
    )


def producer_rows(session: Session) -> Rows:
    statement: Select[*tuple[Any, ...]] = (
        select_columns(
            col(Producer.id).label("producer_id"),
            col(Producer.name),
            col(Producer.kind),
            col(Producer.registration_number).label("tax_code"),
            col(Producer.commune),
            col(Producer.district),
            col(Producer.province),
            col(Producer.gln),
        )
        .where(_approved(), col(Producer.kind).in_(ORGANISATIONS), _certified_now(_today()))
        .order_by(col(Producer.id))
    )
    return _records(session, statement)


def product_rows(session: Session) -> Rows:
    statement = (
        select_columns(
            col(Product.id).label("product_id"),
            col(Product.gtin),
            col(Product.name_vi),
            col(Product.name_en),
            col(Product.category),
            col(Product.unit),
            _organisation_id(),
            col(Producer.district),
        )
        .join(Producer, col(Producer.id) == Product.producer_id)
        .where(_approved())
        .order_by(col(Product.id))
    )
    return _records(session, statement)


def certification_rows(session: Session) -> Rows:
    today = _today()
    organisation = col(Producer.kind).in_(ORGANISATIONS)
    statement = (
        select_columns(
            col(Certification.id).label("certification_id"),
            col(Certification.scheme),
            col(Certification.ocop_stars),
            case((organisation, Certification.number), else_=None).label("number"),
            col(Certification.issuer),
            col(Certification.valid_from),
            col(Certification.valid_to),
            _organisation_id(),
            col(Producer.district),
        )
        .join(Producer, col(Producer.id) == Certification.producer_id)
        .where(_approved())
        .order_by(col(Certification.id))
    )
    for record in _records(session, statement):
        valid_from, valid_to = record["valid_from"], record["valid_to"]
        record["valid_today"] = valid_from <= today <= valid_to
        record["valid_from"], record["valid_to"] = valid_from.isoformat(), valid_to.isoformat()
        yield record


def latest(session: Session, *columns: Any) -> datetime | None:
    """The latest of several timestamp columns (one aggregate query each)."""
    times = [session.exec(select(func.max(column))).one() for column in columns]
    known = [time for time in times if time is not None]
    return max(known) if known else None


def scan_rows(statistics: ScanStatistics) -> Callable[[Session], Rows]:
    def rows(session: Session) -> Rows:
        filters = Filters(None, None, SCAN_MONTHS, datetime.now(UTC))
        for month, key, scans in statistics(session, filters):
            name = BY_KEY[key].name if key in BY_KEY else None
            yield {"month": month, "district": key, "district_name": name, "scans": scans}

    return rows


DISTRICT = Column("district", "string", "District (official name when recognised).")
PRODUCER_ID = Column(
    "producer_id", "integer", "Producer id; empty for household producers.", required=False
)


def build_datasets(statistics: ScanStatistics) -> tuple[Dataset, ...]:
    """The datasets, with scan statistics from the stamps package (given at init)."""
    return (
        Dataset(
            "certified-producers",
            _l("Certified producers of Long An"),
            _l(
                "Cooperatives and companies approved in the registry that hold a certification "
                "valid today. Household producers are natural persons and are not listed."
            ),
            (
                Column("producer_id", "integer", "Registry id of the producer."),
                Column("name", "string", "Registered name."),
                Column("kind", "string", "Legal form.", enum=tuple(ORGANISATIONS)),
                Column(
                    "tax_code",
                    "string",
                    "Enterprise or cooperative code.",
                    pattern=r"^[0-9-]{10,14}$",
                ),
                Column("commune", "string", "Commune or ward."),
                DISTRICT,
                Column("province", "string", "Province."),
                Column(
                    "gln",
                    "string",
                    "GS1 Global Location Number.",
                    required=False,
                    pattern=r"^[0-9]{13}$",
                ),
            ),
            ("producer_id",),
            producer_rows,
            lambda s: latest(
                s, Producer.created_at, Producer.status_changed_at, Certification.created_at
            ),
            ("VietGAP", "OCOP", "producers"),
        ),
        Dataset(
            "products",
            _l("Registered products and their GTINs"),
            _l("Products of approved producers with their GS1 GTIN-14."),
            (
                Column("product_id", "integer", "Registry id of the product."),
                Column("gtin", "string", "GS1 GTIN-14.", pattern=r"^[0-9]{14}$"),
                Column("name_vi", "string", "Name in Vietnamese."),
                Column("name_en", "string", "Name in English."),
                Column("category", "string", "Product category.", enum=PRODUCT_CATEGORIES),
                Column("unit", "string", "Unit of sale.", enum=PRODUCT_UNITS),
                PRODUCER_ID,
                DISTRICT,
            ),
            ("product_id",),
            product_rows,
            lambda s: latest(s, Product.created_at),
            ("GTIN", "GS1", "products"),
        ),
        Dataset(
            "certifications",
            _l("Certifications and their validity"),
            _l(
                "VietGAP, GlobalG.A.P., organic and OCOP certifications of approved producers. "
                "Certificate numbers of household producers are withheld."
            ),
            (
                Column("certification_id", "integer", "Registry id of the certification."),
                Column("scheme", "string", "Scheme.", enum=tuple(CertificationScheme)),
                Column("ocop_stars", "integer", "OCOP stars (3 to 5).", required=False, minimum=1),
                Column(
                    "number", "string", "Certificate number; empty for households.", required=False
                ),
                Column("issuer", "string", "Certification body."),
                Column("valid_from", "date", "First day of validity."),
                Column("valid_to", "date", "Last day of validity."),
                Column("valid_today", "boolean", "Whether the certification is valid today."),
                PRODUCER_ID,
                DISTRICT,
            ),
            ("certification_id",),
            certification_rows,
            lambda s: latest(s, Certification.created_at),
            ("VietGAP", "OCOP", "GlobalGAP", "certification"),
        ),
        Dataset(
            "scan-statistics",
            _l("Consumer scans of traceability stamps by district and month"),
            _l(
                "Scans of e-stamps in the last %(n)s months (Vietnam time), counted in the "
                "district where the scan happened when the consumer shared their location; "
                "“elsewhere” for a place outside Long An's districts, “unknown” when no place "
                "was shared. Never the district where the product was made. Aggregates only: "
                "no scan records.",
                n=SCAN_MONTHS,
            ),
            (
                Column("month", "yearmonth", "Month (YYYY-MM), Vietnam time."),
                Column(
                    "district",
                    "string",
                    "Where the scans happened: the district's key when the consumer shared "
                    "a place in it; 'elsewhere' for a shared place outside these districts; "
                    "'unknown' when no place was shared (or only the province). Not the "
                    "producer's district.",
                    enum=(*BY_KEY, ELSEWHERE, NOT_SHARED),
                ),
                Column(
                    "district_name",
                    "string",
                    "Official name of the district where the scans happened; empty for "
                    "'elsewhere' and 'unknown'.",
                    required=False,
                    enum=tuple(d.name for d in DISTRICTS),
                ),
                Column("scans", "integer", "Number of consumer scans.", minimum=0),
            ),
            ("month", "district"),
            scan_rows(statistics),
            lambda _s: datetime.now(UTC).replace(microsecond=0),
            ("traceability", "QR", "statistics"),
        ),
    )

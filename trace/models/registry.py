"""Producers and what they own: plots, certifications and products."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import text
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class ProducerKind(enum.StrEnum):
    HOUSEHOLD = "household"
    COOPERATIVE = "cooperative"
    COMPANY = "company"


class ProducerStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class CertificationScheme(enum.StrEnum):
    VIETGAP = "vietgap"
    GLOBALGAP = "globalgap"
    ORGANIC = "organic"
    OCOP = "ocop"


class Producer(SQLModel, table=True):
    __tablename__ = "producers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=16)
    registration_number: str = Field(max_length=20, unique=True)
    address_line: str = Field(default="", max_length=200)
    commune: str = Field(max_length=100)
    district: str = Field(max_length=100, index=True)
    province: str = Field(default="Long An", max_length=100)
    phone: str = Field(max_length=20)
    gln: str | None = Field(default=None, max_length=13)
    company_prefix: str | None = Field(default=None, max_length=12)
    status: str = Field(default=ProducerStatus.PENDING, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    status_changed_at: datetime | None = None
    # Goes up whenever one of the producer's certifications (or what it covers) changes:
    # kept by database triggers (migration 0022), never written here; read it with SQL.
    story_version: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})


class Plot(SQLModel, table=True):
    __tablename__ = "plots"

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    name: str = Field(max_length=120)
    area_ha: float
    latitude: float
    longitude: float
    created_at: datetime = Field(default_factory=utcnow)


class Certification(SQLModel, table=True):
    __tablename__ = "certifications"

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    scheme: str = Field(max_length=16)
    ocop_stars: int | None = None
    number: str = Field(max_length=60)
    issuer: str = Field(max_length=200)
    valid_from: date
    valid_to: date = Field(index=True)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    pdf_filename: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    # Which products it covers: those in certification_products, or all of the producer's
    # when the producer declared it so. A certificate naming neither is shown on none.
    producer_wide: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # Declared by the producer until an inspector or admin checks it against the issuer.
    verified_at: datetime | None = None
    verified_by_id: int | None = Field(default=None, foreign_key="users.id")

    def is_expired(self, today: date) -> bool:
        return self.valid_to < today

    def standing(self, today: date) -> str:
        """``expired``, ``verified`` or ``declared``: how far the certificate can be trusted."""
        if self.is_expired(today):
            return "expired"
        return "verified" if self.verified_at is not None else "declared"


class CertificationProduct(SQLModel, table=True):
    """A product a certification names as covered."""

    __tablename__ = "certification_products"

    certification_id: int = Field(foreign_key="certifications.id", primary_key=True)
    product_id: int = Field(foreign_key="products.id", primary_key=True, index=True)


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    producer_id: int = Field(foreign_key="producers.id", index=True)
    name_vi: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    category: str = Field(max_length=32)
    unit: str = Field(max_length=16)
    gtin: str = Field(max_length=14, unique=True, index=True)
    scan_threshold: int = Field(default=50, sa_column_kwargs={"server_default": text("50")})
    #: The clone rules' scan limit in force (its own ``clone_thresholds`` row's, else the
    #: province default's; None: the built-in), kept by database triggers (migration 0023)
    #: for the scan hot path's one-statement find; never written by the app.
    scan_limit: int | None = None
    created_at: datetime = Field(default_factory=utcnow)

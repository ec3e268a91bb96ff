"""Plots, certifications and products: what a producer registers before recording lots."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from trace import gs1
from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import (
    Certification,
    CertificationProduct,
    CertificationScheme,
    Plot,
    Product,
)
from trace.models.base import stored_id
from trace.services.access import Actor, producer_for_change
from trace.services.changes import mark_producer_changed
from trace.services.checks import Checks
from trace.uploads import PDF, served_name

PRODUCT_CATEGORIES = ("fruit", "vegetable", "grain", "seafood", "processed", "other")
PRODUCT_UNITS = ("kg", "tonne", "box", "bag", "piece", "litre")
MAX_PLOT_HA = Decimal(100_000)


def add_plot(
    session: Session, actor: Actor, name: str, area_ha: object, latitude: object, longitude: object
) -> Plot:
    """Register a plot (farm location) of the actor's producer.

    :raises ValidationError: empty name, non-positive area, coordinates out of range.
    """
    producer = producer_for_change(session, actor)
    checks = Checks()
    plot = Plot(
        producer_id=stored_id(producer),
        name=checks.text("name", name, 120),
        area_ha=float(checks.positive("area_ha", area_ha, maximum=MAX_PLOT_HA)),
        latitude=checks.coordinate("latitude", latitude, 90),
        longitude=checks.coordinate("longitude", longitude, 180),
    )
    checks.done()
    session.add(plot)
    session.commit()
    return plot


@dataclass(frozen=True)
class CertificateFile:
    """An uploaded certificate: its original name and bytes."""

    filename: str
    content: bytes


def add_certification(
    session: Session,
    actor: Actor,
    *,
    scheme: str,
    number: str,
    issuer: str,
    valid_from: date | None,
    valid_to: date | None,
    upload_folder: str,
    max_bytes: int,
    ocop_stars: int | None = None,
    pdf: CertificateFile | None = None,
    product_ids: Sequence[int] | None = None,
    producer_wide: bool = False,
) -> Certification:
    """Record a certification, storing its PDF by sha256; it stays "declared" until verified.

    :param product_ids: the producer's products it covers (shown on their scan pages); an
        empty list is refused unless ``producer_wide``. None (not asked): it names none.
    :param producer_wide: it covers every product of the producer. A certificate with
        neither is shown on no product.
    :raises ValidationError: bad scheme, dates out of order, a file that is not a PDF or
        is too large, a product that is not the producer's.
    """
    producer = producer_for_change(session, actor)
    checks = Checks()
    scheme = checks.choice("scheme", scheme, tuple(CertificationScheme))
    if scheme == CertificationScheme.OCOP and ocop_stars not in (3, 4, 5):
        checks.fail("ocop_stars", _l("OCOP certificates carry 3, 4 or 5 stars."))
    if valid_from is None:
        checks.fail("valid_from", _l("Enter a date."))
    if valid_to is None:
        checks.fail("valid_to", _l("Enter a date."))
    elif valid_from is not None and valid_to < valid_from:
        checks.fail("valid_to", _l("The end of validity must come after its start."))
    if pdf is not None:
        _check_pdf(checks, pdf, max_bytes)
    cert = Certification(
        producer_id=stored_id(producer),
        scheme=scheme,
        ocop_stars=ocop_stars if scheme == CertificationScheme.OCOP else None,
        number=checks.text("number", number, 60),
        issuer=checks.text("issuer", issuer, 200),
        valid_from=valid_from or date.min,
        valid_to=valid_to or date.min,
        producer_wide=producer_wide,
    )
    if product_ids is not None and not product_ids and not producer_wide:
        checks.fail(
            "product_ids",
            _l("Choose the products it covers, or tick that it covers all your products."),
        )
    covered = _own_products(session, checks, stored_id(producer), product_ids or ())
    checks.done()
    if pdf is not None:
        cert.pdf_sha256 = store_certificate_pdf(upload_folder, pdf.content)
        # Never the client's name: a PDF/HTML polyglot called x.html stays a .pdf.
        cert.pdf_filename = served_name("certificate", cert.pdf_sha256, PDF)
    session.add(cert)
    session.flush()
    session.add_all(
        CertificationProduct(certification_id=stored_id(cert), product_id=p) for p in covered
    )
    mark_producer_changed(session, stored_id(producer))
    session.commit()
    return cert


def _own_products(
    session: Session, checks: Checks, producer_id: int, product_ids: Sequence[int]
) -> list[int]:
    wanted = sorted(set(product_ids))
    if not wanted:
        return []
    statement = select(col(Product.id)).where(
        Product.producer_id == producer_id, col(Product.id).in_(wanted)
    )
    if set(session.exec(statement)) != set(wanted):
        checks.fail("product_ids", _l("Choose among your own products."))
    return wanted


def certificate_path(upload_folder: str, sha256: str) -> Path:
    """Where a certificate PDF with this digest is stored."""
    return Path(upload_folder) / "certificates" / f"{sha256}.pdf"


def store_certificate_pdf(upload_folder: str, content: bytes) -> str:
    """Write the PDF under its sha256 (atomically) and return the digest."""
    digest = hashlib.sha256(content).hexdigest()
    target = certificate_path(upload_folder, digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def _check_pdf(checks: Checks, pdf: CertificateFile, max_bytes: int) -> None:
    if len(pdf.content) > max_bytes:
        checks.fail("pdf", _l("The file is larger than %(n)d MB.", n=max_bytes // (1024 * 1024)))
    elif not PDF.matches(pdf.content) or b"%%EOF" not in pdf.content[-2048:]:
        checks.fail("pdf", _l("The file is not a PDF document."))
    elif inflated_size_exceeds(pdf.content, MAX_INFLATED_BYTES):
        checks.fail("pdf", _l("The PDF expands to far more data than a certificate holds."))


#: What a certificate's compressed streams may inflate to, in all: a compression bomb
#: would take far more when someone opens or indexes the stored file.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
_STREAM = re.compile(rb"stream\r?\n")


def inflated_size_exceeds(content: bytes, limit: int) -> bool:
    """Whether the PDF's Flate streams inflate to more than ``limit`` bytes in total.

    Inflation is bounded: no more than ``limit`` bytes (plus one chunk) is ever held.
    """
    total = 0
    for match in _STREAM.finditer(content):
        inflater = zlib.decompressobj()
        data = content[match.end() :]
        try:
            while data and not inflater.eof:
                total += len(inflater.decompress(data, 1024 * 1024))
                if total > limit:
                    return True
                data = inflater.unconsumed_tail
        except zlib.error:
            continue  # not a Flate stream (or not compressed): nothing to inflate
    return False


def add_product(
    session: Session,
    actor: Actor,
    *,
    name_vi: str,
    name_en: str,
    category: str,
    unit: str,
    gtin: str | None,
) -> Product:
    """Register a product; without a GTIN one is made from the producer's company prefix.

    :raises ValidationError: bad names, category or unit; a GTIN with a wrong check digit,
        already registered, or none given while the producer has no company prefix.
    """
    producer = producer_for_change(session, actor)
    checks = Checks()
    product = Product(
        producer_id=stored_id(producer),
        name_vi=checks.text("name_vi", name_vi, 200),
        name_en=checks.text("name_en", name_en, 200),
        category=checks.choice("category", category, PRODUCT_CATEGORIES),
        unit=checks.choice("unit", unit, PRODUCT_UNITS),
        gtin="",
    )
    checks.done()
    product.gtin = _gtin_for(session, producer.company_prefix, (gtin or "").strip())
    session.add(product)
    session.commit()
    return product


def _gtin_for(session: Session, company_prefix: str | None, given: str) -> str:
    if given:
        try:
            gtin = gs1.normalize_gtin(given)
        except ValueError:
            raise ValidationError(
                {"gtin": _l("This is not a valid GTIN: check the digits and the check digit.")}
            ) from None
        if session.exec(select(func.count()).where(Product.gtin == gtin)).one():
            raise ValidationError({"gtin": _l("This GTIN is already registered.")})
        return gtin
    if not company_prefix:
        raise ValidationError(
            {"gtin": _l("Enter a GTIN, or add your GS1 company prefix to your profile first.")}
        )
    return _next_free_gtin(session, company_prefix)


def _next_free_gtin(session: Session, company_prefix: str) -> str:
    capacity = 10 ** (12 - len(company_prefix))
    taken = set(
        session.exec(select(Product.gtin).where(col(Product.gtin).startswith("0" + company_prefix)))
    )
    for item_reference in range(1, capacity):
        gtin = gs1.gtin_from_company_prefix(company_prefix, item_reference)
        if gtin not in taken:
            return gtin
    raise ValidationError({"gtin": _l("Your company prefix has no free item numbers left.")})

"""Certifications as they can be trusted: who verified them, and which products they cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from trace.errors import Forbidden, NotFound
from trace.models import Certification, CertificationProduct, Role, User
from trace.models.base import utcnow
from trace.services.access import Actor


@dataclass(frozen=True)
class CoveredCertification:
    """A certification shown on a product, with the name of whoever verified it."""

    certification: Certification
    verified_by: str | None  # the verifier's name (an email is never shown)
    verifier_role: str | None

    def standing(self, today: date) -> str:
        """``expired``, ``verified`` or ``declared``."""
        return self.certification.standing(today)


def verify_certification(session: Session, actor: Actor, cert_id: int) -> Certification:
    """Record that an inspector or admin checked the certificate with its issuer.

    Verifying again keeps the first verification (who and when).

    :raises Forbidden: the actor is a farmer.
    :raises NotFound: no such certification.
    """
    if actor.role not in (Role.INSPECTOR, Role.ADMIN):
        raise Forbidden()
    cert = session.get(Certification, cert_id)
    if cert is None:
        raise NotFound()
    if cert.verified_at is None:
        cert.verified_at = utcnow()
        cert.verified_by_id = actor.user_id
        session.add(cert)
        session.commit()
    return cert


def covering_product(
    session: Session, producer_id: int, product_id: int
) -> list[CoveredCertification]:
    """The producer's certifications that cover the product, latest validity first.

    A certification covers a product it names, or every product when producer-wide.
    """
    names_it = exists().where(
        col(CertificationProduct.certification_id) == Certification.id,
        col(CertificationProduct.product_id) == product_id,
    )
    statement = (
        select(Certification, User.full_name, User.role)
        .outerjoin(User, col(User.id) == Certification.verified_by_id)
        .where(Certification.producer_id == producer_id)
        .where(or_(col(Certification.producer_wide), names_it))
        .order_by(col(Certification.valid_to).desc(), col(Certification.id))
    )
    return [
        CoveredCertification(cert, name or None, role)
        for cert, name, role in session.exec(statement)
    ]


def products_covered(session: Session, cert_ids: list[int]) -> dict[int, list[int]]:
    """The products each certification names, by certification id."""
    if not cert_ids:
        return {}
    statement = select(CertificationProduct).where(
        col(CertificationProduct.certification_id).in_(cert_ids)
    )
    covered: dict[int, list[int]] = {cert_id: [] for cert_id in cert_ids}
    for link in session.exec(statement):
        covered[link.certification_id].append(link.product_id)
    return covered

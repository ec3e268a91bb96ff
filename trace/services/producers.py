"""Producer profiles: the registration fields and their edits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from trace.errors import ValidationError
from trace.i18n import _l
from trace.models import Producer, ProducerKind
from trace.services.access import Actor, producer_for_change, visible_producer
from trace.services.changes import mark_producer_changed
from trace.services.checks import Checks


@dataclass(frozen=True)
class ProducerProfile:
    """A producer's editable profile, as plain values."""

    name: str
    kind: str
    registration_number: str
    address_line: str
    commune: str
    district: str
    province: str
    phone: str
    gln: str | None = None
    company_prefix: str | None = None

    def as_columns(self) -> dict[str, Any]:
        return asdict(self)


def check_profile(checks: Checks, profile: ProducerProfile) -> ProducerProfile:
    """Validate and normalise a profile, collecting errors in ``checks``."""
    return ProducerProfile(
        name=checks.text("name", profile.name, 200),
        kind=checks.choice("kind", profile.kind, tuple(ProducerKind)),
        registration_number=checks.registration_number(
            "registration_number", profile.registration_number
        ),
        address_line=checks.text("address_line", profile.address_line, 200, required=False),
        commune=checks.text("commune", profile.commune, 100),
        district=checks.text("district", profile.district, 100),
        province=checks.text("province", profile.province, 100),
        phone=checks.phone("phone", profile.phone),
        gln=checks.optional_gln("gln", profile.gln),
        company_prefix=checks.optional_company_prefix("company_prefix", profile.company_prefix),
    )


def get_producer(session: Session, actor: Actor, producer_id: int) -> Producer:
    """A producer the actor may see.

    :raises NotFound: unknown, or another farmer's producer.
    """
    return visible_producer(session, actor, producer_id)


def update_profile(session: Session, actor: Actor, profile: ProducerProfile) -> Producer:
    """Change the actor's own producer profile.

    :raises ValidationError: a bad field, or a registration number taken by another producer.
    :raises Conflict: the producer is pending or suspended.
    """
    producer = producer_for_change(session, actor)
    checks = Checks()
    clean = check_profile(checks, profile)
    checks.done()
    taken = session.exec(
        select(func.count()).where(
            Producer.registration_number == clean.registration_number, Producer.id != producer.id
        )
    ).one()
    if taken:
        raise ValidationError(
            {"registration_number": _l("A producer with this number is already registered.")}
        )
    for column, value in clean.as_columns().items():
        setattr(producer, column, value)
    session.add(producer)
    mark_producer_changed(session, producer.id)  # type: ignore[arg-type]
    session.commit()
    return producer


def list_producers(
    session: Session, status: str | None = None, query: str | None = None
) -> list[Producer]:
    """Producers for the admin list, newest first, optionally filtered."""
    statement = select(Producer).order_by(Producer.id.desc())  # type: ignore[union-attr]
    if status:
        statement = statement.where(Producer.status == status)
    if query:
        like = f"%{query.strip()}%"
        statement = statement.where(
            or_(Producer.name.ilike(like), Producer.registration_number.ilike(like))  # type: ignore[attr-defined]
        )
    return list(session.exec(statement.limit(500)))

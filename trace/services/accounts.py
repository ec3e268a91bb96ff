"""Accounts: farmer self-registration, operator-created users, login and approval."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Producer, ProducerStatus, Role, User
from trace.models.base import utcnow
from trace.services.access import Actor
from trace.services.checks import Checks
from trace.services.producers import ProducerProfile, check_profile

MIN_PASSWORD = 10


@dataclass(frozen=True)
class Registration:
    """What a farmer fills in to register: a login and the producer's profile."""

    email: str
    password: str
    full_name: str
    profile: ProducerProfile


def register_producer(session: Session, form: Registration, hash_method: str) -> User:
    """Create a pending producer and its first farmer account, in one transaction.

    :returns: the new farmer user (its producer awaits approval).
    :raises ValidationError: on any bad field, including an email or registration number
        that is already taken.
    """
    checks = Checks()
    email = checks.email("email", form.email)
    _check_password(checks, form.password)
    full_name = checks.text("full_name", form.full_name, 120)
    profile = check_profile(checks, form.profile)
    checks.done()
    _ensure_unique(session, email, profile.registration_number)
    producer = Producer(**profile.as_columns(), status=ProducerStatus.PENDING)
    session.add(producer)
    session.flush()
    user = User(
        email=email,
        password_hash=generate_password_hash(form.password, method=hash_method),
        full_name=full_name,
        role=Role.FARMER,
        producer_id=producer.id,
    )
    session.add(user)
    session.commit()
    return user


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    hash_method: str,
    producer_id: int | None = None,
    full_name: str = "",
) -> User:
    """Create an account for an operator, inspector or farmer of an existing producer.

    :raises ValidationError: bad email, weak password, unknown role or producer.
    """
    checks = Checks()
    email = checks.email("email", email)
    _check_password(checks, password)
    role = checks.choice("role", role, tuple(Role))
    if role == Role.FARMER and (producer_id is None or session.get(Producer, producer_id) is None):
        checks.fail("producer", _l("A farmer account needs an existing producer."))
    if role != Role.FARMER and producer_id is not None:
        checks.fail("producer", _l("Only farmer accounts belong to a producer."))
    checks.done()
    _ensure_unique(session, email, None)
    user = User(
        email=email,
        password_hash=generate_password_hash(password, method=hash_method),
        full_name=full_name.strip()[:120],
        role=role,
        producer_id=producer_id,
    )
    session.add(user)
    session.commit()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = find_user(session, email)
    if user is None or not user.is_active:
        return None
    return user if check_password_hash(user.password_hash, password) else None


def find_user(session: Session, email: str) -> User | None:
    """The user with this email (case-insensitive), or None."""
    statement = select(User).where(User.email == (email or "").strip().lower())
    return session.exec(statement).first()


def set_producer_status(
    session: Session, actor: Actor, producer_id: int, status: ProducerStatus
) -> Producer:
    """Approve or suspend a producer (admins only).

    :raises NotFound: unknown producer, or the actor is not an admin.
    """
    if actor.role != Role.ADMIN:
        raise NotFound()
    producer = session.get(Producer, producer_id)
    if producer is None:
        raise NotFound()
    producer.status = status
    producer.status_changed_at = utcnow()
    session.add(producer)
    session.commit()
    return producer


def actor_for(user: User) -> Actor:
    """The service-layer view of a logged-in user."""
    assert user.id is not None
    return Actor(user_id=user.id, role=Role(user.role), producer_id=user.producer_id)


def _check_password(checks: Checks, password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        checks.fail("password", _l("Use at least %(n)d characters.", n=MIN_PASSWORD))


def _ensure_unique(session: Session, email: str, registration_number: str | None) -> None:
    errors = {}
    if session.exec(select(func.count()).where(User.email == email)).one():
        errors["email"] = _l("An account with this email already exists.")
    if (
        registration_number
        and session.exec(
            select(func.count()).where(Producer.registration_number == registration_number)
        ).one()
    ):
        errors["registration_number"] = _l("A producer with this number is already registered.")
    if errors:
        raise ValidationError(errors)

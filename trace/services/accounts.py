"""Accounts: farmer self-registration, operator-created users, login, logout and approval."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, update
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Producer, ProducerStatus, Role, User
from trace.models.base import utcnow
from trace.services.access import Actor
from trace.services.checks import Checks
from trace.services.passwords import check_password
from trace.services.producers import ProducerProfile, check_profile


class EmailTaken(ValidationError):
    """Registration with an email that already has an account (nothing was created).

    Web pages must answer it exactly as they answer a registration that succeeded, so
    the form cannot be used to learn who has an account.
    """

    def __init__(self) -> None:
        super().__init__({"email": _l("An account with this email already exists.")})


@dataclass(frozen=True)
class Registration:
    """What a farmer fills in to register: a login and the producer's profile."""

    email: str
    password: str
    full_name: str
    profile: ProducerProfile


def register_producer(session: Session, form: Registration, hash_method: str) -> User:
    """Create a pending producer and its first farmer account, in one transaction.

    The password is hashed before the email is looked up, so a taken email costs as
    much time as a new one.

    :returns: the new farmer user (its producer awaits approval).
    :raises EmailTaken: the email already has an account (nothing is created).
    :raises ValidationError: on any bad field, including a registration number that is
        already taken.
    """
    checks = Checks()
    email = checks.email("email", form.email)
    check_password(checks, form.password, email)
    full_name = checks.text("full_name", form.full_name, 120)
    profile = check_profile(checks, form.profile)
    checks.done()
    password_hash = generate_password_hash(form.password, method=hash_method)
    _ensure_unique(session, email, profile.registration_number)
    producer = Producer(**profile.as_columns(), status=ProducerStatus.PENDING)
    session.add(producer)
    session.flush()
    user = User(
        email=email,
        password_hash=password_hash,
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
    check_password(checks, password, email)
    role = checks.choice("role", role, tuple(Role))
    if role == Role.FARMER and (producer_id is None or session.get(Producer, producer_id) is None):
        checks.fail("producer", _l("A farmer account needs an existing producer."))
    if role != Role.FARMER and producer_id is not None:
        checks.fail("producer", _l("Only farmer accounts belong to a producer."))
    checks.done()
    if _email_taken(session, email):
        raise ValidationError({"email": _l("An account with this email already exists.")})
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


def authenticate(session: Session, email: str, password: str, hash_method: str) -> User | None:
    """The active user with this email and password, or None.

    An unknown email is checked against a dummy hash of the same method, so the answer
    takes as long as for a known email with a wrong password.

    :param hash_method: the method new passwords are hashed with (the dummy's cost).
    """
    user = find_user(session, email)
    stored = user.password_hash if user is not None else dummy_hash(hash_method)
    matches = verify_password(stored, password)
    if user is None or not user.is_active or not matches:
        return None
    return user


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (one hashing, whatever the outcome)."""
    return check_password_hash(stored_hash, password)


@cache
def dummy_hash(hash_method: str) -> str:
    """A hash of a random password that nobody knows, made with ``hash_method``."""
    return generate_password_hash(secrets.token_urlsafe(16), method=hash_method)


def change_password(
    session: Session, user_id: int, current: str, new: str, hash_method: str
) -> User:
    """Set a new password and end every other session of the account.

    :returns: the user, with its new session version (log the current session in again).
    :raises ValidationError: wrong current password, or a new one the rule refuses.
    """
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound()
    checks = Checks()
    if not verify_password(user.password_hash, current):
        checks.fail("current_password", _l("This is not your current password."))
    check_password(checks, new, user.email)
    checks.done()
    user.password_hash = generate_password_hash(new, method=hash_method)
    user.session_version += 1
    session.add(user)
    session.commit()
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """Revoke every session of the account (logout): old session cookies stop working."""
    session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(session_version=col(User.session_version) + 1)
    )
    session.commit()


def load_session_user(session: Session, session_id: str) -> User | None:
    """The active user a session id (``User.get_id()``) names, if it is still current.

    :returns: None when the id is malformed, the user is gone or inactive, or the
        session was revoked (logout, password change) after the id was issued.
    """
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


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


def _email_taken(session: Session, email: str) -> bool:
    return bool(session.exec(select(func.count()).where(User.email == email)).one())


def _ensure_unique(session: Session, email: str, registration_number: str) -> None:
    """A taken registration number is a field error; a taken email is ``EmailTaken``."""
    statement = select(func.count()).where(Producer.registration_number == registration_number)
    if session.exec(statement).one():
        raise ValidationError(
            {"registration_number": _l("A producer with this number is already registered.")}
        )
    if _email_taken(session, email):
        raise EmailTaken()

"""API tokens: issuing (shown once, stored as a sha256), checking, listing and revoking."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from trace.errors import Forbidden, NotFound, TraceError
from trace.i18n import _l
from trace.models import Role, User
from trace.models.base import utcnow
from trace.models.tokens import ApiToken, Scope
from trace.services.access import Actor
from trace.services.checks import Checks

TOKEN_PREFIX = "agt_"
MAX_EXPIRY_DAYS = 730
#: What each role's tokens may be allowed to do (minting needs a farmer's producer).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.FARMER: frozenset({Scope.READ, Scope.MINT}),
    Role.INSPECTOR: frozenset({Scope.READ, Scope.RECALL, Scope.CAPTURE}),
    Role.ADMIN: frozenset({Scope.READ, Scope.RECALL, Scope.CAPTURE, Scope.ADMIN}),
}
LAST_USE_RESOLUTION = timedelta(minutes=1)


class InvalidToken(TraceError):
    """No token, or one that is unknown, expired, revoked or of a disabled account."""

    status = 401


class MissingScope(Forbidden):
    """The token is valid but was not issued for this kind of request."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret is only ever available here, at creation."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    """The stored form of a token: sha256 hex (tokens carry 256 bits of randomness)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session,
    actor: Actor,
    owner_email: str,
    scopes: Iterable[str],
    expires_days: int | None = None,
    label: str = "",
) -> IssuedToken:
    """Create a token for ``owner_email``; admins issue anyone's, a farmer only their own.

    :param scopes: a subset of the owner's role scopes (:data:`ROLE_SCOPES`).
    :param expires_days: 1..730 days, or None for a token that does not expire.
    :returns: the stored token and its secret (shown once).
    :raises NotFound: unknown owner, or one the actor may not issue tokens for.
    :raises ValidationError: empty or unknown scopes, a bad expiry, a long label.
    """
    owner = _owner(session, actor, owner_email)
    checks = Checks()
    chosen = _checked_scopes(checks, owner.role, scopes)
    clean_label = checks.text("label", label, 80, required=False)
    days = _checked_days(checks, expires_days)
    checks.done()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=owner.id,  # type: ignore[arg-type]
        created_by_id=actor.user_id,
        label=clean_label,
        scopes=",".join(sorted(chosen)),
        token_hash=hash_token(secret),
        prefix=secret[:10],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.commit()
    return IssuedToken(token, secret)


def _owner(session: Session, actor: Actor, email: str) -> User:
    statement = select(User).where(User.email == (email or "").strip().lower())
    owner = session.exec(statement).first()
    if owner is None or not owner.is_active:
        raise NotFound()
    if actor.role == Role.ADMIN or owner.id == actor.user_id and actor.role == Role.FARMER:
        return owner
    raise NotFound()


def _checked_scopes(checks: Checks, role: str, scopes: Iterable[str]) -> set[str]:
    chosen = {s.strip() for s in scopes if s and s.strip()}
    allowed = ROLE_SCOPES.get(role, frozenset())
    if not chosen:
        checks.fail("scopes", _l("Choose at least one scope."))
    elif not chosen <= allowed:
        checks.fail(
            "scopes",
            _l(
                "This account's tokens may only have: %(scopes)s.",
                scopes=", ".join(sorted(allowed)),
            ),
        )
    return chosen


def _checked_days(checks: Checks, days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_EXPIRY_DAYS:
        checks.fail("expires_days", _l("Between 1 and %(n)d days.", n=MAX_EXPIRY_DAYS))
    return days


def authenticate(
    session: Session, secret: str, now: datetime | None = None
) -> tuple[ApiToken, User]:
    """The token and its user for a presented secret, recording the use.

    :raises InvalidToken: unknown, expired or revoked token, or a disabled account.
    """
    now = now or utcnow()
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).first()
    if token is None or token.revoked_at is not None:
        raise InvalidToken(_l("The token is not valid."))
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken(_l("The token has expired."))
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidToken(_l("The token is not valid."))
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        token.last_used_at = now  # once a minute at most: reads stay cheap
        session.add(token)
        session.commit()
    return token, user


def require_scope(token: ApiToken, scope: str) -> None:
    """:raises MissingScope: the token was not issued with ``scope``."""
    if scope not in token.scope_set:
        raise MissingScope(_l("This token does not have the %(scope)s scope.", scope=scope))


def list_tokens(session: Session, actor: Actor) -> list[tuple[ApiToken, User]]:
    """Tokens the actor manages (admins: every token; others: their own), newest first."""
    statement = select(ApiToken, User).join(User, col(User.id) == ApiToken.user_id)
    if actor.role != Role.ADMIN:
        statement = statement.where(ApiToken.user_id == actor.user_id)
    rows = session.exec(statement.order_by(col(ApiToken.id).desc()))
    return [(token, user) for token, user in rows]


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token at once (idempotent). :raises NotFound: unknown or not the actor's."""
    token = session.get(ApiToken, token_id)
    if token is None or (actor.role != Role.ADMIN and token.user_id != actor.user_id):
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.commit()
    return token

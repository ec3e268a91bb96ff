"""Decorators and helpers that tie a request to a service-layer actor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from trace.models import Role
from trace.services.access import Actor
from trace.services.accounts import actor_for

F = TypeVar("F", bound=Callable[..., Any])


def roles(*allowed: Role) -> Callable[[F], F]:
    """Require a logged-in user with one of ``allowed`` roles; others get a 404 page."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in allowed:
                abort(404)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def actor() -> Actor:
    """The logged-in user as a service-layer actor."""
    return actor_for(current_user._get_current_object())

"""Account commands for operators and scripts: ``create-user`` and ``create-token``.

``flask --app wsgi create-user EMAIL --role farmer|inspector|admin [--producer ID]`` and
``flask --app wsgi create-token EMAIL --scope read,recall,capture`` (prints the token once).
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from trace.db import get_session
from trace.errors import ValidationError
from trace.models import Role
from trace.services import tokens
from trace.services.access import Actor
from trace.services.accounts import create_user, find_user


def init_app(app: Flask) -> None:
    """Register both commands on the app's CLI."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(["farmer", "inspector", "admin"]), required=True)
@click.option("--producer", "producer_id", type=int, default=None, help="Producer id (farmers).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "full_name", default="", help="Full name.")
def create_user_command(
    email: str, role: str, producer_id: int | None, password: str, full_name: str
) -> None:
    """Create an account for an operator, inspector or farmer."""
    try:
        user = create_user(
            get_session(),
            email,
            password,
            role,
            current_app.config["PASSWORD_HASH_METHOD"],
            producer_id=producer_id,
            full_name=full_name,
        )
    except ValidationError as error:
        raise _click_error(error) from None
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@click.command("create-token")
@with_appcontext
@click.argument("email")
@click.option("--scope", "scopes", required=True, help="Comma-separated: read,recall,capture,mint.")
@click.option("--expires-days", type=int, default=None, help="Days until it expires (1-730).")
@click.option("--label", default="", help="What the token is for.")
def create_token_command(email: str, scopes: str, expires_days: int | None, label: str) -> None:
    """Issue an API token for a user and print it (it is shown only this once)."""
    session = get_session()
    # The operator at the console acts as an administrator; the token records its owner
    # as its issuer.
    operator = Actor(user_id=_owner_id(session, email), role=Role.ADMIN)
    try:
        issued = tokens.issue_token(
            session, operator, email, scopes.split(","), expires_days, label
        )
    except ValidationError as error:
        raise _click_error(error) from None
    click.echo(issued.secret)
    click.echo(
        f"Token {issued.token.id} for {email} ({issued.token.scopes}) - store it now, "
        "it cannot be shown again.",
        err=True,
    )


def _owner_id(session: Session, email: str) -> int:
    user = find_user(session, email)
    if user is None or user.id is None:
        raise click.ClickException(f"No user with email {email}.")
    return user.id


def _click_error(error: ValidationError) -> click.ClickException:
    """The console's message for a refused command: ``field: message; ...``."""
    return click.ClickException(
        "; ".join(f"{field}: {message}" for field, message in error.errors.items())
    )

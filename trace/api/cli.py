"""``flask --app wsgi create-token EMAIL --scope read,recall,capture`` (prints the token once)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlmodel import Session, select

from trace.db import get_session
from trace.errors import ValidationError
from trace.models import Role, User
from trace.services import tokens
from trace.services.access import Actor


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
        raise click.ClickException(
            "; ".join(f"{field}: {message}" for field, message in error.errors.items())
        ) from None
    click.echo(issued.secret)
    click.echo(
        f"Token {issued.token.id} for {email} ({issued.token.scopes}) - store it now, "
        "it cannot be shown again.",
        err=True,
    )


def _owner_id(session: Session, email: str) -> int:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or user.id is None:
        raise click.ClickException(f"No user with email {email}.")
    return user.id


def init_app(app: Flask) -> None:
    """Register the command."""
    app.cli.add_command(create_token_command)

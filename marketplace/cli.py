"""``flask --app wsgi marketplace reconcile [--repair]``: drift between marketplaces and us."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from marketplace.errors import MarketplaceError
from marketplace.extensions import sync_settings
from marketplace.reconcile import find_drift, repair
from trace.db import get_session

group = AppGroup("marketplace", help="Marketplace listings.")


def init_app(app: Flask) -> None:
    """Register the ``marketplace`` command group."""
    app.cli.add_command(group)


@group.command("reconcile")
@click.option(
    "--repair", "fix", is_flag=True, help="Delist duplicates and resync drifted listings."
)
@click.option("--marketplace", "only", default=None, help="One marketplace (default: all).")
@with_appcontext
def reconcile_command(fix: bool, only: str | None) -> None:
    """Compare remote listings with ours and report (and optionally repair) drift."""
    session = get_session()
    adapters = sync_settings(current_app).adapters
    drifted = 0
    for name, adapter in sorted(adapters.items()):
        if only and name != only:
            continue
        try:
            drifts = find_drift(session, name, adapter)
            for drift in drifts:
                ids = ",".join(drift.external_ids) or "-"
                click.echo(f"{name}\t{drift.sku}\t{drift.kind}\t{ids}\t{drift.detail}")
            drifted += len(drifts)
            if fix and drifts:
                acted = repair(session, adapter, drifts)
                click.echo(f"{name}: queued {acted} listing(s) for repair")
        except MarketplaceError as error:
            raise click.ClickException(f"{name}: {error}") from None
    click.echo(f"{drifted} drift(s) found.")

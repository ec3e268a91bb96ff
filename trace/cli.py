"""Operator commands: ``flask --app wsgi migrate | seed-demo | serve | worker | integrity``.

Account commands (``create-user``, ``create-token``) are in :mod:`trace.accounts_cli`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from trace.db import get_session
from trace.extensions import demo_seed_hooks, serve_hooks
from trace.migrate import upgrade


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI, the account commands included."""
    from trace import accounts_cli

    accounts_cli.init_app(app)
    app.cli.add_command(migrate_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(integrity_command)


@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Bring the database schema up to date (Alembic)."""
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command("seed-demo")
@with_appcontext
@click.option("--force", is_flag=True, help="Seed even in production.")
def seed_demo_command(force: bool) -> None:
    """Seed Long An demo producers once (skipped when accounts exist)."""
    from trace.seed import DEMO_PASSWORD, seed_demo

    if current_app.config["AGRITRACE_ENV"] == "production" and not force:
        raise click.ClickException("Refusing to seed demo accounts in production (use --force).")
    logins = seed_demo(get_session(), current_app.config["PASSWORD_HASH_METHOD"])
    if not logins:
        click.echo(f"Demo data already present; demo logins use the password {DEMO_PASSWORD}.")
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role in logins:
        click.echo(f"  {role:<10} {email}")
    # Packages add their own demo data (e.g. stamps) through hooks: trace imports none of them.
    for hook in demo_seed_hooks(current_app):
        for line in hook(get_session(), current_app.config["PUBLIC_BASE_URL"]):
            click.echo(line)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host: str, port: int) -> None:
    """Serve the whole system for a local demo (the development server)."""
    from trace.jobs import start_worker_thread, worker_on_idle

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Packages add what the local demo needs beside the web server (e.g. sandboxes).
    for start in serve_hooks(app):
        start(app)
    start_worker_thread(app, on_idle=worker_on_idle(app))
    click.echo(f"AgriTrace on http://{host}:{port}/  (Ctrl+C to stop)")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("worker")
@click.option("--idle-seconds", default=1.0, show_default=True, help="Sleep when idle.")
@click.option(
    "--only",
    multiple=True,
    metavar="PREFIX",
    help="Run only jobs whose kind starts with PREFIX (repeatable), e.g. --only marketplace.",
)
@with_appcontext
def worker_command(idle_seconds: float, only: tuple[str, ...]) -> None:
    """Run background jobs until interrupted (several may run in parallel).

    With ``--only`` the worker runs those kinds alone and leaves periodic scheduling
    (anchoring rounds, dashboard rollups) to the workers that run everything; one that
    runs no chain job (``--only marketplace.``) does not open the chain, so it may run on
    another machine or beside the process that holds the embedded chain.
    """
    import signal
    import threading

    from trace.anchoring.jobs import CHAIN_JOBS
    from trace.jobs import handlers, run_worker, worker_on_idle
    from trace.web.security import refuse_damaged_chain

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kinds = sorted(handlers(app))
    chosen = [kind for kind in kinds if kind.startswith(only)] if only else kinds
    if not chosen:
        wanted, known = ", ".join(only), ", ".join(kinds)
        raise click.UsageError(f"no job kind starts with {wanted}; kinds: {known}")
    if CHAIN_JOBS.intersection(chosen):
        refuse_damaged_chain(app)  # a worker would otherwise anchor on a fresh, empty chain
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"Worker started{' for ' + ', '.join(only) if only else ''}; Ctrl+C to stop.")
    on_idle = None if only else worker_on_idle(app)
    run_worker(app, stop, idle_seconds, on_idle=on_idle, only=only or None)


@click.command("integrity")
@click.option("--lot", "lot_id", type=int, help="Check one lot (default: every anchored lot).")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Check the lots with this many processes, each with its own app and connections.",
)
@with_appcontext
def integrity_command(lot_id: int | None, processes: int) -> None:
    """Recompute lot documents and compare them with their anchors; exit 1 on tampering."""
    from trace.anchoring import check_integrity

    session = get_session()
    if lot_id is not None:
        try:
            report = check_integrity(session, lot_id)
        except LookupError:
            raise click.ClickException(f"No lot {lot_id}.") from None
        click.echo(
            f"lot {lot_id}: {report.status}" + (f" ({report.reason})" if report.reason else "")
        )
        tampered = [lot_id] if report.status == "tampered" else []
    else:
        checked, tampered = _sweep(current_app._get_current_object(), processes)  # type: ignore[attr-defined]
        click.echo(f"{checked} lots checked, {len(tampered)} tampered.")
    for found in tampered:
        click.echo(f"TAMPERED: lot {found}")
    if tampered:
        raise SystemExit(1)


def _sweep(app: Flask, processes: int) -> tuple[int, list[int]]:
    """Every lot's integrity, slice by slice (as the worker's sweep cuts them), in this
    process or in ``processes`` spawned ones; lots checked and those tampered, by id."""
    from trace.anchoring.integrity import sweep_range, sweep_slices
    from trace.anchoring.jobs import SWEEP_SLICE

    session = get_session()
    slices = sweep_slices(session, SWEEP_SLICE)
    session.rollback()  # no read transaction held while the checkers write
    if processes == 1 or len(slices) < 2:
        parts = [sweep_range(session, after, until, SWEEP_SLICE) for after, until in slices]
        found = [(part.checked, part.tampered) for part in parts]
    else:
        # Spawned, not forked: each process builds its own app, engine and connections
        # from this app's settings (the same database, the same secret for shared stories).
        settings = {**app.config, "INSTANCE_PATH": app.instance_path}
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(processes, len(slices)), _start_checker, (settings,)) as pool:
            found = pool.starmap(_check_range, slices, chunksize=1)
            pool.close()
            pool.join()  # the checkers end on their own: their apps are closed
    return sum(checked for checked, _ in found), sorted(t for _, ts in found for t in ts)


_checker: Flask | None = None


def _start_checker(settings: dict[str, Any]) -> None:
    """A spawned checker's app, closed when the process ends."""
    global _checker
    from trace.app import close_app, create_app

    _checker = create_app(settings)
    multiprocessing.util.Finalize(_checker, close_app, args=(_checker,), exitpriority=10)


def _check_range(after: int, until: int) -> tuple[int, list[int]]:
    """One slice, in a spawned checker (:func:`_start_checker`)."""
    from trace.anchoring.integrity import sweep_range
    from trace.anchoring.jobs import SWEEP_SLICE

    assert _checker is not None
    with _checker.app_context():
        report = sweep_range(get_session(), after, until, SWEEP_SLICE)
    return report.checked, report.tampered

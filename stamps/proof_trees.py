"""``flask proof-trees``: store the stamp tree of every anchored lot the host's store lacks.

Minting stores each lot's new tree (:func:`stamps.minting.mint_stamps`); lots minted
before that, a new host or a deleted store (:mod:`stamps.proof_store`) are filled here, so
that no proof builds its lot's tree from the serials on first ask. Lots are taken in
chunks: one statement reads a chunk's serials in minting order and each lot keeps its
anchored document's ``stamp_count`` first ones (as :func:`stamps.proofs.cached_tree`
would read them); a tree is stored only when it gives the document's ``stamp_root``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import JSON, Connection, Engine, bindparam, cast, select, type_coerce

from stamps.models import Stamp
from stamps.proof_store import TreeKey, TreeStore, tree_store
from stamps.proofs import tree_of_serials
from trace.db import make_engine
from trace.models import AnchorRound, LotDocument, RoundStatus

#: Serials read by one statement (a chunk ends at the lot that passes it) and lots at most.
CHUNK_STAMPS = 50_000
CHUNK_LOTS = 500
#: Seconds between two progress lines.
PROGRESS_EVERY = 5.0

_DOCUMENTS = LotDocument.__table__  # type: ignore[attr-defined]
_ROUNDS = AnchorRound.__table__  # type: ignore[attr-defined]
_STAMPS = Stamp.__table__  # type: ignore[attr-defined]
CHUNK_SERIALS = (
    select(_STAMPS.c.lot_id, _STAMPS.c.serial)
    .where(_STAMPS.c.lot_id.in_(bindparam("lots", expanding=True)))
    .order_by(_STAMPS.c.lot_id, _STAMPS.c.id)
)


@dataclass
class Filled:
    """What a run of :func:`fill_store` did."""

    stored: int = 0
    present: int = 0
    #: Lots whose serials do not give their anchored document's root (left to the proof,
    #: which refuses the bundle).
    mismatched: int = 0
    seconds: float = 0.0


def anchored_trees(connection: Connection) -> list[TreeKey]:
    """The tree each lot's newest anchored document names: (lot, stamp_count, stamp_root),
    for the documents that count stamps, by lot id."""
    document: Any
    if connection.dialect.name == "postgresql":
        document = cast(_DOCUMENTS.c.canonical_json, JSON)
    else:  # SQLite's JSON functions read the text as it is
        document = type_coerce(_DOCUMENTS.c.canonical_json, JSON)
    statement = (
        select(
            _DOCUMENTS.c.lot_id,
            document["stamp_count"].as_integer(),
            document["stamp_root"].as_string(),
        )
        .join(_ROUNDS, _ROUNDS.c.id == _DOCUMENTS.c.round_id)
        .where(_ROUNDS.c.status == RoundStatus.CONFIRMED)
        # Documents that count no stamps (most lots') are not parsed: their column is NULL.
        .where(_DOCUMENTS.c.stamp_root.is_not(None))
        .order_by(_DOCUMENTS.c.lot_id, _DOCUMENTS.c.version.desc())
    )
    newest: dict[int, TreeKey] = {}
    for lot_id, count, root in connection.execute(statement):
        newest.setdefault(lot_id, (lot_id, count or 0, root))
    return [key for key in newest.values() if key[1] > 0 and key[2]]


def chunks(keys: list[TreeKey]) -> Iterator[list[TreeKey]]:
    """``keys`` cut into chunks of about :data:`CHUNK_STAMPS` stamps."""
    chunk: list[TreeKey] = []
    stamps = 0
    for key in keys:
        chunk.append(key)
        stamps += key[1]
        if stamps >= CHUNK_STAMPS or len(chunk) >= CHUNK_LOTS:
            yield chunk
            chunk, stamps = [], 0
    if chunk:
        yield chunk


def store_chunk(connection: Connection, store: TreeStore, keys: list[TreeKey]) -> tuple[int, int]:
    """Build and store the trees of one chunk of lots; (stored, mismatched)."""
    serials: dict[int, list[str]] = {lot_id: [] for lot_id, _, _ in keys}
    rows = connection.execute(CHUNK_SERIALS, {"lots": list(serials)}).all()  # not row by row
    for lot_id, serial in rows:
        serials[lot_id].append(serial)
    connection.rollback()  # no read transaction held while hashing
    stored = 0
    for key in keys:
        lot_id, count, root = key
        found = serials.pop(lot_id)
        if len(found) < count:
            continue
        tree = tree_of_serials(found[:count])
        if f"0x{tree.root.hex()}" == root:
            store.put(key, tree)
            stored += 1
    return stored, len(keys) - stored


def fill_store(engine: Engine, store: TreeStore, processes: int = 1, echo: bool = False) -> Filled:
    """Store the tree of every anchored lot whose tree ``store`` lacks.

    :param processes: build in this many spawned processes, each with its own connection.
    :param echo: print a progress line every :data:`PROGRESS_EVERY` seconds.
    """
    started = time.perf_counter()
    with engine.connect() as connection:
        keys = anchored_trees(connection)
    missing = [key for key in keys if not store.holds(key)]
    filled = Filled(present=len(keys) - len(missing))
    work = list(chunks(missing))
    progress = _Progress(len(missing), echo)
    if processes == 1 or len(work) < 2:
        with engine.connect() as connection:
            done = (store_chunk(connection, store, chunk) for chunk in work)
            _tally(filled, done, work, progress)
    else:
        context = multiprocessing.get_context("spawn")
        url = engine.url.render_as_string(hide_password=False)
        initargs = (url, str(store.folder))
        with context.Pool(min(processes, len(work)), _start_builder, initargs) as pool:
            _tally(filled, pool.imap(_build_chunk, work), work, progress)
    filled.seconds = time.perf_counter() - started
    return filled


def _tally(
    filled: Filled,
    done: Iterator[tuple[int, int]],
    work: list[list[TreeKey]],
    progress: _Progress,
) -> None:
    for chunk, (stored, mismatched) in zip(work, done, strict=True):
        filled.stored += stored
        filled.mismatched += mismatched
        progress.advance(len(chunk), filled.stored)


class _Progress:
    def __init__(self, total: int, echo: bool) -> None:
        self.total, self.echo, self.done = total, echo, 0
        self.started = self.shown = time.perf_counter()

    def advance(self, lots: int, stored: int) -> None:
        self.done += lots
        now = time.perf_counter()
        if self.echo and now - self.shown >= PROGRESS_EVERY and self.done < self.total:
            self.shown = now
            click.echo(
                f"{self.done:,}/{self.total:,} lots ({stored:,} trees stored, "
                f"{now - self.started:.0f} s)"
            )


_builder: tuple[Engine, TreeStore] | None = None


def _start_builder(url: str, folder: str) -> None:
    """A spawned builder's connection pool and store."""
    global _builder
    _builder = (make_engine(url), TreeStore(Path(folder)))


def _build_chunk(keys: list[TreeKey]) -> tuple[int, int]:
    """One chunk, in a spawned builder (:func:`_start_builder`)."""
    assert _builder is not None
    engine, store = _builder
    with engine.connect() as connection:
        return store_chunk(connection, store, keys)


@click.command("proof-trees")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Build the trees in this many processes, each with its own connection.",
)
@with_appcontext
def proof_trees_command(processes: int) -> None:
    """Store the stamp tree of every anchored lot the host's tree store lacks."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = tree_store(app)
    if store is None:
        raise click.ClickException("No tree store: PROOF_TREE_STORE is set empty.")
    engine = app.extensions["db_engine"]
    filled = fill_store(engine, store, processes, echo=True)
    click.echo(
        f"{filled.stored} lots stored, {filled.present} skipped as present, "
        f"{filled.mismatched} not matching their document, in {filled.seconds:.1f} s."
    )

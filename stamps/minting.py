"""Minting stamp runs in bulk and activating them under a mass balance (voids: ``voiding``)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from chain.merkle import PackedTree, leaf_value_for, merkle_root
from stamps import mint_runs
from stamps.identity import new_serials
from stamps.mint_limits import MintLimits, check_limits, check_pack_size
from stamps.models import Stamp, StampRun, StampStatus
from stamps.processes import pool_context, worker_dies_with
from stamps.proof_store import key_of, tree_store
from stamps.proofs import tree_of_serials
from stamps.stock import units_stamped
from trace.errors import NotFound, ValidationError
from trace.extensions import product_changed
from trace.i18n import _l
from trace.models import Lot
from trace.models.base import utcnow
from trace.services.access import Actor, owned, producer_for_change
from trace.services.checks import Checks
from trace.services.lots import lock_lot
from trace.services.mass_balance import drawn_by_transformations
from trace.services.quantities import plain

log = logging.getLogger(__name__)
MAX_PER_RUN = 1_000_000
INSERT_CHUNK = 50_000
PROCESS_THRESHOLD = 200_000  # below this a process costs more than it saves


def mint_stamps(
    session: Session,
    actor: Actor,
    lot_id: int,
    count: Any,
    pack_size: Any,
    limits: MintLimits | None = None,
) -> StampRun:
    """Mint ``count`` new stamps for one of the actor's lots.

    The run is reserved under the lot's lock (caps and mass balance checked there), its
    serials are written in short transactions while it is pending (not scannable), and
    one small transaction publishes it with the lot's new ``stamp_root`` (the Merkle root
    over all of the lot's serials). A failure on the way discards the run. The lot's new
    stamp tree is then kept in the host's tree store (:mod:`stamps.proof_store`), under the
    key the lot's next anchored document names, so no proof of the lot builds it.

    :raises NotFound: unknown or another producer's lot.
    :raises ValidationError: a count outside 1..1,000,000, a pack size below the unit's
        smallest pack or above the lot, a recalled lot, a run already being minted for
        the lot, the lot's run cap or the producer's daily cap reached, or more packs than
        the lot's quantity can fill (mass balance). Nothing is written then.
    """
    producer_for_change(session, actor)
    lot = owned(session, actor, Lot, lot_id)
    number, size = _checked_request(lot, count, pack_size)
    mint_runs.discard_abandoned(session, lot_id)
    run = _reserve(session, actor.user_id, lot_id, number, size, limits or MintLimits())
    try:
        earlier = lot_serials(session, lot_id) if lot.stamp_count else []
        serials = sorted(new_serials(number))
        tree = _write_stamps(session, run, earlier, serials)
        mint_runs.publish(session, run, tree.root)
    except BaseException:
        mint_runs.discard_failed(session, run.id)  # type: ignore[arg-type]
        raise
    _keep_tree(lot_id, tree)
    return run


def _keep_tree(lot_id: int, tree: PackedTree) -> None:
    """Store the lot's new stamp tree on this host, where its proofs will look for it.

    The lot's next anchored document counts these stamps under this root (until more are
    minted), so its proofs read the tree instead of building it from the lot's serials.
    Outside an app, or with no store, nothing is kept; a failed write is only logged.
    """
    try:
        store = tree_store(current_app) if has_app_context() else None
        if store is not None:
            store.put(key_of(lot_id, tree), tree)
    except Exception:  # noqa: BLE001 - the run is published; its proofs build the tree then
        log.warning("stamp tree of lot %s not stored", lot_id, exc_info=True)


def _checked_request(lot: Lot, count: Any, pack_size: Any) -> tuple[int, Decimal]:
    checks = Checks()
    number = _count(checks, count)
    size = checks.positive("pack_size", pack_size, maximum=lot.quantity)
    if lot.recalled_at is not None:
        checks.fail("count", _l("This lot has been recalled: no new stamps can be minted."))
    checks.done()
    check_pack_size(size, lot.unit)
    return number, size


def _reserve(
    session: Session, user_id: int, lot_id: int, number: int, size: Decimal, limits: MintLimits
) -> StampRun:
    """Check caps and mass balance under the lot's lock and add the pending run."""
    try:
        lot = lock_lot(session, lot_id)
        if lot.recalled_at is not None:
            raise ValidationError(
                {"count": _l("This lot has been recalled: no new stamps can be minted.")}
            )
        mint_runs.check_none_pending(session, lot_id)
        check_limits(session, lot, number, limits, utcnow())
        check_mass_balance(session, lot, StampStatus.ISSUED, number * size)
    except ValidationError:
        session.rollback()  # releases the lock; nothing was written
        raise
    run = StampRun(
        lot_id=lot_id,
        count=number,
        pack_size=size,
        created_by_id=user_id,
        pending_until=mint_runs.lease_end(),
    )
    session.add(run)
    session.commit()
    return run


def _write_stamps(
    session: Session, run: StampRun, earlier: list[str], serials: list[str]
) -> PackedTree:
    """Write the run's rows chunk by chunk and return the lot's new stamp tree (packed),
    whose root is the lot's new stamp root.

    Large runs hash in another process while the database writes: a hashing thread
    would hold the GIL that SQLite takes back after every row.
    """
    if len(serials) < PROCESS_THRESHOLD:
        mint_runs.write_chunks(session, run, serials, _insert_stamps)
        return tree_of_serials(earlier + serials)
    with ProcessPoolExecutor(
        1, mp_context=pool_context(), initializer=worker_dies_with, initargs=(os.getpid(),)
    ) as pool:
        tree = pool.submit(tree_of_serials, earlier + serials)
        mint_runs.write_chunks(session, run, serials, _insert_stamps)
        return tree.result()


def _count(checks: Checks, count: Any) -> int:
    try:
        number = int(str(count).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PER_RUN:
        checks.fail("count", _l("Between 1 and %(n)s stamps per request.", n=f"{MAX_PER_RUN:,}"))
    return number


def check_mass_balance(session: Session, lot: Lot, counted: StampStatus, extra: Decimal) -> None:
    """Refuse when stamped units (plus ``extra``) would exceed what the lot has.

    ``counted`` says which stamps already use up the lot: every stamp not void when
    minting, only active ones when activating. What transformations drew from the lot
    into other lots is used up too. Call under the lot's lock (:func:`lock_lot`).
    """
    lot_id: int = lot.id  # type: ignore[assignment]
    drawn = drawn_by_transformations(session, lot_id)
    used = units_stamped(session, lot_id, counted)
    if used + drawn + extra <= lot.quantity:
        return
    left = max(lot.quantity - used - drawn, Decimal(0))
    message = (
        _l(
            "Mass balance: the lot holds %(quantity)s %(unit)s and %(used)s %(unit)s are "
            "already stamped, so only %(left)s %(unit)s are left for new packs.",
            quantity=plain(lot.quantity),
            used=plain(used),
            left=plain(left),
            unit=lot.unit,
        )
        if not drawn
        else _l(
            "Mass balance: the lot holds %(quantity)s %(unit)s; %(used)s %(unit)s are already "
            "stamped and %(drawn)s %(unit)s went into other lots, so only %(left)s %(unit)s "
            "are left for new packs.",
            quantity=plain(lot.quantity),
            used=plain(used),
            drawn=plain(drawn),
            left=plain(left),
            unit=lot.unit,
        )
    )
    raise ValidationError({"count": message})


def _insert_stamps(session: Session, lot_id: int, run_id: int, serials: list[str]) -> None:
    """Write rows at driver level: the ORM costs ~10x here (see PERF-NOTES).

    A driver error comes out as SQLAlchemy's (``OperationalError`` when the database went
    away, with the connection invalidated), as it would from any other statement.
    """
    connection = session.connection()
    dialect = connection.dialect
    raw = connection.connection.driver_connection
    try:
        _insert_rows(raw, dialect.name, lot_id, run_id, serials)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, raw, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            "INSERT INTO stamps", None, error, dialect.loaded_dbapi.Error, False, lost, dialect
        ) from error


def _insert_rows(raw: Any, dialect: str, lot_id: int, run_id: int, serials: list[str]) -> None:
    if dialect == "postgresql":
        # Serials are [0-9A-Z] only, so COPY's text format needs no escaping.
        tail = f"\t{lot_id}\t{run_id}\n"
        with raw.cursor().copy("COPY stamps (serial, lot_id, run_id) FROM STDIN") as copy:
            for start in range(0, len(serials), INSERT_CHUNK):
                copy.write(tail.join(serials[start : start + INSERT_CHUNK]) + tail)
        return
    cursor = raw.cursor()
    statement = "INSERT INTO stamps (serial, lot_id, run_id) VALUES (?, ?, ?)"
    for start in range(0, len(serials), INSERT_CHUNK):
        chunk = serials[start : start + INSERT_CHUNK]
        cursor.executemany(statement, [(serial, lot_id, run_id) for serial in chunk])
    cursor.close()


def lot_serials(session: Session, lot_id: int) -> list[str]:
    """Every serial minted for a lot, in serial order."""
    statement = select(Stamp.serial).where(Stamp.lot_id == lot_id).order_by(col(Stamp.serial))
    return list(session.exec(statement))


def lot_stamp_root(session: Session, lot_id: int) -> bytes:
    """The Merkle root over a lot's serials (OpenZeppelin standard tree, bytes32 leaves)."""
    return stamp_root_of(lot_serials(session, lot_id))


def stamp_root_of(serials: list[str]) -> bytes:
    """The Merkle root over serials; their order does not matter (the tree sorts leaves)."""
    return merkle_root([leaf_value_for(serial) for serial in serials])


def activate_run(session: Session, actor: Actor, run_id: int) -> StampRun:
    """Mark a run's issued stamps active (applied to product), within the mass balance.

    Counted and written under the lot's lock, so two activations cannot both fit.

    :raises NotFound: unknown run, or another producer's.
    :raises ValidationError: a run still being minted, or activation would stamp more
        than the lot holds (nothing changes then).
    """
    producer_for_change(session, actor)
    run = _own_run(session, actor, run_id)
    try:
        lot = lock_lot(session, run.lot_id)
        session.refresh(run)
        if run.pending_until is not None:
            raise ValidationError(
                {"count": _l("This run is still being minted: activate it once it is done.")}
            )
        issued = session.exec(
            select(func.count()).where(
                Stamp.lot_id == run.lot_id,
                Stamp.run_id == run_id,
                Stamp.status == StampStatus.ISSUED,
            )
        ).one()
        check_mass_balance(session, lot, StampStatus.ACTIVE, issued * run.pack_size)
    except ValidationError:
        session.rollback()
        raise
    session.execute(
        update(Stamp)
        .where(
            col(Stamp.lot_id) == run.lot_id,
            col(Stamp.run_id) == run_id,
            col(Stamp.status) == StampStatus.ISSUED,
        )
        .values(status=StampStatus.ACTIVE)
    )
    run.activated_at = utcnow()
    session.add(run)
    # Active stamps bound the stock listed on marketplaces (mass balance): resync it.
    product_changed(session, lot.product_id)
    session.commit()
    return run


def _own_run(session: Session, actor: Actor, run_id: int) -> StampRun:
    run = session.get(StampRun, run_id)
    if run is None:
        raise NotFound()
    owned(session, actor, Lot, run.lot_id)
    return run


def runs_of_lot(session: Session, lot_id: int) -> list[StampRun]:
    """A lot's runs, newest first."""
    statement = select(StampRun).where(StampRun.lot_id == lot_id, mint_runs.published())
    return list(session.exec(statement.order_by(col(StampRun.id).desc())))


def status_counts(session: Session, lot_id: int) -> dict[str, int]:
    """How many of a lot's stamps are in each status (runs still being minted left out)."""
    statement = (
        select(Stamp.status, func.count())
        .join(StampRun, col(StampRun.id) == Stamp.run_id)
        .where(Stamp.lot_id == lot_id, mint_runs.published())
        .group_by(Stamp.status)
    )
    return {status: n for status, n in session.exec(statement)}

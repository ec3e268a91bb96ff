"""Typed access to what the app keeps in ``app.extensions``, and the seams between packages.

Each key has one accessor here, so no module spells an ``app.extensions`` key. The seams are
how packages that may not import each other still work together: the package that offers
something registers it at the composition root (``trace.app.create_app``) with an
``offer_*`` function, and the others call what is registered:

* ``stamps`` offers the **stock counter** (packs that carry a stamp), which the marketplace
  listings use as their stock cap;
* ``marketplace`` offers the **delister** (take a recalled lot's product off sale), which a
  recall calls for every lot it reaches, and the **public listings** of the product page;
* ``stamps`` offers the **lot verdict** label of the inspection report.

Services take a session, not the app, so the seams they call are **session seams**: Blinker
signals (as Flask's own signals) that ``create_app`` connects the offering package's function
to, once per process (connecting it again changes nothing):

* ``marketplace`` listens for **product changed** (a lot recorded, stamps activated or
  voided: what the product may sell changed) and queues its listings' sync;
* ``stamps`` offers the **packed units** of a lot (what its active stamps stand for), which
  the mass balance of transformations subtracts, and the **stamped lots** (the lots our
  stamps' serials belong to), which links captured EPCIS events to lots;
* ``stamps`` listens for **lot verified** (the integrity sweep just found a lot intact) and
  shares the lot's story for the day, so the day's first scan of it need not check it again.

Recall hooks (:func:`trace.services.recall.register_recall_hook`), job handlers
(:func:`trace.jobs.handlers`), dashboard charts and open-data datasets are registries of
the same kind, kept by the modules that run them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast

from blinker import Namespace

import chain

if TYPE_CHECKING:
    from flask import Flask
    from flask_limiter import Limiter
    from sqlalchemy import ColumnElement, Engine, ScalarSelect
    from sqlmodel import Session

    from chain.client import ChainClient
    from trace.api.auth import Caller
    from trace.api.core import ProblemApi
    from trace.models import Lot, Producer
    from trace.web.throttle import LoginLockout

DB_ENGINE = "db_engine"
API = "api"
SERVE_HOOKS = "serve_hooks"
DEMO_SEED_HOOKS = "demo_seed_hooks"
STOCK_COUNTER = "stock_counter"
DELISTER = "delister"
PUBLIC_LISTINGS = "public_listings"
LOT_VERDICT = "lot_verdict"
LOGIN_LOCKOUT = "login_lockout"
RATE_LIMITER = "rate_limiter"
API_CALLERS = "api_callers"

#: Started by ``flask serve`` beside the web server (e.g. the sandbox marketplaces).
ServeHook = Callable[["Flask"], Any]
#: Adds a package's demo data: ``(session, public base URL)`` → lines to print.
DemoSeedHook = Callable[["Session", str], Sequence[str]]
#: The product page's live listings: ``(session, product id)`` → public listing dicts.
PublicListings = Callable[["Session", int], list[dict[str, Any]]]
#: What the lot's active stamps scan as, as a label: ``(lot, producer)`` → text.
LotVerdict = Callable[["Lot", "Producer"], str]


#: (GTIN-14, serial) pairs, as an EPCIS event names a stamp.
SerialKey = tuple[str, str]


class StockCounter(Protocol):
    """Packs that carry a stamp ready for sale, on the lots ``conditions`` select.

    Returns a scalar subquery (it may correlate with the enclosing statement), so a listing
    reads its stock cap in the same statement as its product.
    """

    def __call__(self, *conditions: ColumnElement[bool]) -> ScalarSelect[int]: ...


class Delister(Protocol):
    """Queue taking ``lot``'s product off sale everywhere, because the lot was recalled.

    Runs inside the recall's transaction, once for each lot that recall reached first.
    """

    def __call__(self, session: Session, lot: Lot, reason: str) -> None: ...


def db_engine(app: Flask) -> Engine:
    """The app's database engine (built by :func:`trace.db.init_app`)."""
    return cast("Engine", app.extensions[DB_ENGINE])


def set_db_engine(app: Flask, engine: Engine) -> None:
    """Keep ``engine`` as the app's database engine."""
    app.extensions[DB_ENGINE] = engine


def chain_client(app: Flask) -> ChainClient:
    """The app's chain client (built by :func:`chain.init_app`)."""
    return chain.client_of(app)


def api(app: Flask) -> ProblemApi:
    """The inspector API (built by :func:`trace.api.init_app`); packages add blueprints to it."""
    return cast("ProblemApi", app.extensions[API])


def set_api(app: Flask, api_: ProblemApi) -> None:
    """Keep ``api_`` as the inspector API."""
    app.extensions[API] = api_


def rate_limiter(app: Flask) -> Limiter:
    """The app's one per-client limiter (logins, registrations, ``/chain/rpc``; built by
    ``trace.web.throttle``). Scans have their own cheaper bucket (``stamps.hotpath``)."""
    return cast("Limiter", app.extensions[RATE_LIMITER])


def set_rate_limiter(app: Flask, limiter: Limiter) -> None:
    """Keep the app's per-client limiter for :func:`rate_limiter`."""
    app.extensions[RATE_LIMITER] = limiter


def login_lockout(app: Flask) -> LoginLockout:
    """The growing per-account lockout of failed logins (built by ``trace.web.throttle``)."""
    return cast("LoginLockout", app.extensions[LOGIN_LOCKOUT])


def set_login_lockout(app: Flask, lockout: LoginLockout) -> None:
    """Keep the app's login lockout for :func:`login_lockout`."""
    app.extensions[LOGIN_LOCKOUT] = lockout


def api_callers(app: Flask) -> dict[str, tuple[float, Caller]]:
    """This worker's cache of API callers by token hash: ``(expires at, caller)``."""
    return cast("dict[str, tuple[float, Caller]]", app.extensions.setdefault(API_CALLERS, {}))


def serve_hooks(app: Flask) -> list[ServeHook]:
    """What ``flask serve`` starts before the web server, in order (packages append)."""
    return cast("list[ServeHook]", app.extensions.setdefault(SERVE_HOOKS, []))


def demo_seed_hooks(app: Flask) -> list[DemoSeedHook]:
    """What ``flask seed-demo`` runs after the registry's own demo data (packages append)."""
    return cast("list[DemoSeedHook]", app.extensions.setdefault(DEMO_SEED_HOOKS, []))


def offer_stock_counter(app: Flask, counter: StockCounter) -> None:
    """Register the stock counter (``stamps`` offers it)."""
    app.extensions[STOCK_COUNTER] = counter


def stock_counter(app: Flask) -> StockCounter:
    """The registered stock counter.

    :raises KeyError: no package offered one (the composition root always registers it).
    """
    return cast("StockCounter", app.extensions[STOCK_COUNTER])


def offer_delister(app: Flask, delister_: Delister) -> None:
    """Register the delister (``marketplace`` offers it)."""
    app.extensions[DELISTER] = delister_


def delister(app: Flask) -> Delister | None:
    """The registered delister, or None when no package sells anything."""
    return cast("Delister | None", app.extensions.get(DELISTER))


def offer_public_listings(app: Flask, listings: PublicListings) -> None:
    """Register what the product page shows of a product's listings."""
    app.extensions[PUBLIC_LISTINGS] = listings


def public_listings(app: Flask) -> PublicListings | None:
    """The registered public listings, or None (the product page then shows none)."""
    return cast("PublicListings | None", app.extensions.get(PUBLIC_LISTINGS))


def offer_lot_verdict(app: Flask, label: LotVerdict) -> None:
    """Register the lot verdict label of the inspection report (``stamps`` offers it)."""
    app.extensions[LOT_VERDICT] = label


def lot_verdict(app: Flask) -> LotVerdict | None:
    """The registered lot verdict label, or None (the report then shows a dash)."""
    return cast("LotVerdict | None", app.extensions.get(LOT_VERDICT))


class ProductListener(Protocol):
    """Hears that what ``product_id`` may sell changed, inside the caller's transaction."""

    def __call__(self, session: Session, /, *, product_id: int) -> None: ...


class PackedUnits(Protocol):
    """How much of lot ``lot_id`` (in its unit) the packs of its active stamps carry."""

    def __call__(self, session: Session, /, *, lot_id: int) -> Decimal: ...


class StampedLots(Protocol):
    """The lots of our stamps among ``keys``: ``{(GTIN-14, serial): lot id}``; a serial
    counts only with its own product's GTIN."""

    def __call__(self, session: Session, /, *, keys: set[SerialKey]) -> dict[SerialKey, int]: ...


class VerifiedLotListener(Protocol):
    """Hears that lot ``lot_id`` was just found intact (in the checker's transaction);
    returns whether it wrote anything there."""

    def __call__(self, session: Session, /, *, lot_id: int) -> bool: ...


_SESSION_SEAMS = Namespace()
_PRODUCT_CHANGED = _SESSION_SEAMS.signal("product-changed")
_PACKED_UNITS = _SESSION_SEAMS.signal("packed-units")
_STAMPED_LOTS = _SESSION_SEAMS.signal("stamped-lots")
_LOT_VERIFIED = _SESSION_SEAMS.signal("lot-verified")


def offer_product_listener(listener: ProductListener) -> None:
    """Have ``listener`` hear of every product change (``marketplace`` offers one)."""
    _PRODUCT_CHANGED.connect(listener, weak=False)


def product_changed(session: Session, product_id: int) -> None:
    """Tell the listeners that what ``product_id`` may sell changed (in ``session``'s
    transaction: they queue work that exists exactly when the change does)."""
    _PRODUCT_CHANGED.send(session, product_id=product_id)


def offer_packed_units(counter: PackedUnits) -> None:
    """Register the packed units counter (``stamps`` offers it)."""
    _PACKED_UNITS.connect(counter, weak=False)


def packed_units(session: Session, lot_id: int) -> Decimal:
    """How much of the lot packs with an active stamp carry (0 when nothing stamps packs)."""
    counts = _PACKED_UNITS.send(session, lot_id=lot_id)
    return sum((cast(Decimal, units) for _, units in counts), Decimal(0))


def offer_stamped_lots(resolver: StampedLots) -> None:
    """Register the serial → lot resolver (``stamps`` offers it)."""
    _STAMPED_LOTS.connect(resolver, weak=False)


def stamped_lots(session: Session, keys: set[SerialKey]) -> dict[SerialKey, int]:
    """The lots of our stamps among (GTIN-14, serial) pairs (none when nothing stamps)."""
    found: dict[SerialKey, int] = {}
    for _, lots in _STAMPED_LOTS.send(session, keys=keys) if keys else ():
        found |= cast("dict[SerialKey, int]", lots)
    return found


def offer_verified_lot_listener(listener: VerifiedLotListener) -> None:
    """Have ``listener`` hear of every lot the integrity sweep finds intact (``stamps``)."""
    _LOT_VERIFIED.connect(listener, weak=False)


def lot_verified(session: Session, lot_id: int) -> bool:
    """Tell the listeners that ``lot_id`` was just found intact (its integrity checked in
    ``session``); :returns: whether any of them wrote in ``session``'s transaction."""
    return any(bool(wrote) for _, wrote in _LOT_VERIFIED.send(session, lot_id=lot_id))

"""The local demo's marketplaces: a serve hook that starts both sandboxes and lists demo goods."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import func
from sqlmodel import Session, col, select

from marketplace.extensions import portal_settings, set_sandboxes, sync_settings
from marketplace.models import ListingSync
from marketplace.portal.models import PortalEnrolment
from marketplace.portal.services import set_enrolment
from marketplace.sandbox.portal import PortalSandbox
from marketplace.sandbox.postmart import PostmartSandbox
from marketplace.sandbox.servers import RunningSandbox, start
from marketplace.sandbox.voso import VosoSandbox
from marketplace.services import ListingChoice, save_listings
from trace.extensions import db_engine
from trace.models import Product, User
from trace.services.accounts import actor_for

log = logging.getLogger(__name__)
#: The demo farms (by their seeded login) whose first product is listed on first start.
DEMO_OFFERS = {
    "thanhlong@demo.agritrace.vn": ("35000", "200"),
    "chanh@demo.agritrace.vn": ("25000", "150"),
}


def start_sandboxes(app: Flask) -> list[RunningSandbox]:
    """Serve hook: the marketplace and portal sandboxes on 127.0.0.1 (the adapters already
    point there).

    The sandboxes accept the credentials the adapters were configured with and keep
    their data in the instance folder. In development the demo products are listed once.
    """
    config, folder = app.config, Path(app.instance_path)
    postmart = PostmartSandbox(
        folder / "sandbox-postmart.db", api_keys={config["POSTMART_API_KEY"]: "shop-demo"}
    )
    voso = VosoSandbox(
        folder / "sandbox-voso.db", clients={config["VOSO_CLIENT_ID"]: config["VOSO_CLIENT_SECRET"]}
    )
    sandboxes = [(postmart, config["POSTMART_SANDBOX_PORT"]), (voso, config["VOSO_SANDBOX_PORT"])]
    if config.get("PORTAL_CLIENT_ID") and config.get("PORTAL_CLIENT_SECRET"):
        portal = PortalSandbox(
            folder / "sandbox-portal.db",
            clients={config["PORTAL_CLIENT_ID"]: config["PORTAL_CLIENT_SECRET"]},
        )
        sandboxes.append((portal, config["PORTAL_SANDBOX_PORT"]))
    faults = json.loads(config.get("SANDBOX_FAULTS") or "{}")
    running = []
    for sandbox, port in sandboxes:
        sandbox.configure(faults)
        try:
            running.append(start(sandbox, port=int(port)))
        except OSError as error:  # e.g. a second `make run`: the first one's sandbox serves
            log.warning("%s sandbox not started on port %s: %s", sandbox.name, port, error)
    set_sandboxes(app, running)
    if config["AGRITRACE_ENV"] == "development":
        with (
            app.app_context(),
            Session(db_engine(app), expire_on_commit=False) as session,
        ):
            seed_demo_listings(session, sorted(sync_settings(app).adapters))
            if portal_settings(app) is not None:
                seed_demo_enrolment(session)
    return running


def seed_demo_listings(session: Session, marketplaces: list[str]) -> int:
    """List each demo farm's first product on every marketplace, once (no listings yet).

    :returns: how many products were offered.
    """
    if not marketplaces or session.exec(select(func.count()).select_from(ListingSync)).one():
        return 0
    offered = 0
    for email, (price, stock) in DEMO_OFFERS.items():
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None or user.producer_id is None:
            continue
        product = session.exec(
            select(Product).where(Product.producer_id == user.producer_id).order_by(col(Product.id))
        ).first()
        if product is None:
            continue
        choices = [ListingChoice(name, True, price, stock) for name in marketplaces]
        save_listings(session, actor_for(user), product.id, choices, marketplaces)  # type: ignore[arg-type]
        offered += 1
    return offered


def seed_demo_enrolment(session: Session) -> bool:
    """Have the first demo farm share with the portal sandbox, once (no enrolment yet).

    :returns: whether a farm was opted in.
    """
    if session.exec(select(func.count()).select_from(PortalEnrolment)).one():
        return False
    email = next(iter(DEMO_OFFERS))
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or user.producer_id is None:
        return False
    set_enrolment(session, actor_for(user), True)
    return True

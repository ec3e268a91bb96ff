"""Demo stamps: each seeded farm's first lot gets an active run, so a new user can scan at once."""

from __future__ import annotations

from sqlmodel import Session, col, select

from stamps.identity import stamp_uri
from stamps.minting import activate_run, mint_stamps
from stamps.models import Stamp
from trace.models import Lot, Product, Role, User
from trace.services.accounts import actor_for

DEMO_RUN_SIZE = 24  # one 3×8 label sheet


def seed_demo_stamps(session: Session, base_url: str) -> list[str]:
    """Mint and activate one label sheet for every demo farm's first lot.

    :returns: lines for the operator: one scan link per farm.
    """
    lines = []
    farmers = session.exec(
        select(User).where(User.role == Role.FARMER).order_by(col(User.id))
    ).all()
    for user in farmers:
        if user.producer_id is None:
            continue
        lot = session.exec(
            select(Lot)
            .join(Product, col(Product.id) == col(Lot.product_id))
            .where(Product.producer_id == user.producer_id)
            .order_by(col(Lot.id))
        ).first()
        if lot is None:
            continue
        actor = actor_for(user)
        run = mint_stamps(session, actor, lot.id, DEMO_RUN_SIZE, "1")  # type: ignore[arg-type]
        activate_run(session, actor, run.id)  # type: ignore[arg-type]
        stamp = session.exec(
            select(Stamp).where(Stamp.run_id == run.id).order_by(col(Stamp.id))
        ).first()
        product = session.get(Product, lot.product_id)
        if stamp is not None and product is not None:
            lines.append(f"  {stamp_uri(base_url, product.gtin, lot.code, stamp.serial)}")
    return ["Scan a demo stamp:", *lines] if lines else []

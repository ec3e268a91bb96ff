"""What a Digital Link names, walking up to the nearest level we know (serial → lot → GTIN)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from stamps.identity import StampKey
from stamps.scanning import StampFacts, find_stamp
from trace.models import Lot, Producer, Product


@dataclass(frozen=True)
class Target:
    """The known thing a request resolves to; ``unknown`` names what was asked but not found.

    ``unknown`` is ``"serial"`` when a stamp we never issued walked up to its lot (the
    consumer must still be told the stamp is unknown) and ``"lot"`` when a lot did.
    """

    level: str  # "gtin", "lot" or "serial"
    product: Product
    producer: Producer
    lot: Lot | None = None
    facts: StampFacts | None = None
    unknown: str | None = None
    asked_lot: str | None = None
    asked_serial: str | None = None


def find_target(session: Session, pairs: list[tuple[str, str]]) -> Target | None:
    """The most specific level of ``pairs`` (from ``parse_gtin_dl_path``) that exists.

    :returns: None when even the GTIN is not one of our products.
    """
    asked = dict(pairs)
    row = session.exec(
        select(Product, Producer)
        .join(Producer, Producer.id == Product.producer_id)  # type: ignore[arg-type]
        .where(Product.gtin == asked["01"])
    ).first()
    if row is None:
        return None
    product, producer = row
    lot_code, serial = asked.get("10"), asked.get("21")
    base = Target("gtin", product, producer, asked_lot=lot_code, asked_serial=serial)
    if lot_code is None:
        return base if serial is None else _unknown(base, "serial")
    lot = session.exec(
        select(Lot).where(Lot.product_id == product.id, Lot.code == lot_code)
    ).first()
    if lot is None:
        return _unknown(base, "lot")
    at_lot = Target("lot", product, producer, lot, asked_lot=lot_code, asked_serial=serial)
    if serial is None:
        return at_lot
    facts = find_stamp(session, StampKey(product.gtin, lot_code, serial))
    if facts is None:
        return _unknown(at_lot, "serial")
    return Target("serial", product, producer, lot, facts, None, lot_code, serial)


def _unknown(target: Target, what: str) -> Target:
    return Target(
        target.level,
        target.product,
        target.producer,
        target.lot,
        None,
        what,
        target.asked_lot,
        target.asked_serial,
    )

"""Which of our lots a captured EPCIS event names: by lot class, by stamp, or by ILMD lot number.

An event names a lot when it carries

* the lot's class: ``urn:epc:class:lgtin:...`` or a Digital Link URI with AI 10, in a
  quantity list;
* an instance of it: ``urn:epc:id:sgtin:...`` or a Digital Link URI with AI 21 whose serial
  is one of our stamps of that GTIN, as an EPC or parent;
* ``cbvmda:lotNumber`` in its ILMD together with a GTIN we issue (any of its identifiers).

Identifiers arrive already normalised to constrained canonical Digital Link URIs on
``https://id.gs1.org`` (:func:`trace.services.epcis_store.identifiers_of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from sqlmodel import Session, col, select

from trace.extensions import stamped_lots
from trace.models import Lot, Product

CHUNK = 500
LOT_CLASS = re.compile(r"^https://id\.gs1\.org/01/(\d{14})/10/([^/?#]+)$")
ITEM = re.compile(r"^https://id\.gs1\.org/01/(\d{14})/21/([^/?#]+)$")
GTIN = re.compile(r"^https://id\.gs1\.org/01/(\d{14})(?:/|$)")
#: ``cbvmda:lotNumber`` as JSON-LD may write it (prefixed, or expanded with the CBV namespace).
ILMD_LOT_KEYS = ("cbvmda:lotNumber", "urn:epcglobal:cbv:mda:lotNumber")

#: (GTIN-14, lot code) pairs and (GTIN-14, serial) pairs, as an event names them.
Key = tuple[str, str]


class NamedLots:
    """The lot keys a batch of events names, each remembered with the events naming it."""

    def __init__(self) -> None:
        self.lots: dict[Key, set[str]] = {}
        self.items: dict[Key, set[str]] = {}

    def add_event(
        self, hash_id: str, event: Mapping[str, Any], identifiers: Iterable[tuple[str, str]]
    ) -> None:
        """Note what one event names (``identifiers``: its (identifier, role) pairs)."""
        gtins: set[str] = set()
        for identifier, role in identifiers:
            if (match := GTIN.match(identifier)) is not None:
                gtins.add(match[1])
            if role == "class" and (match := LOT_CLASS.match(identifier)) is not None:
                self.lots.setdefault((match[1], unquote(match[2])), set()).add(hash_id)
            if role != "class" and (match := ITEM.match(identifier)) is not None:
                self.items.setdefault((match[1], unquote(match[2])), set()).add(hash_id)
        lot_number = ilmd_lot_number(event)
        for gtin in gtins if lot_number else ():
            self.lots.setdefault((gtin, lot_number), set()).add(hash_id)  # type: ignore[arg-type]

    def resolve(self, session: Session) -> dict[str, set[int]]:
        """Our lots each event names: ``{hash ID: lot ids}``; other parties' keys drop out."""
        found: dict[str, set[int]] = {}
        for key, lot_id in _lots(session, set(self.lots)).items():
            for hash_id in self.lots[key]:
                found.setdefault(hash_id, set()).add(lot_id)
        for key, lot_id in stamped_lots(session, set(self.items)).items():
            for hash_id in self.items[key]:
                found.setdefault(hash_id, set()).add(lot_id)
        return found


def ilmd_lot_number(event: Mapping[str, Any]) -> str | None:
    """The ``cbvmda:lotNumber`` of an event's ILMD, if it has one."""
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, Mapping):
        return None
    for key in ILMD_LOT_KEYS:
        value = ilmd.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def _chunks(keys: set[Key]) -> Iterable[list[Key]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _lots(session: Session, keys: set[Key]) -> dict[Key, int]:
    """Our lots among (GTIN, lot code) pairs: ``{pair: lot id}``."""
    found: dict[Key, int] = {}
    for chunk in _chunks(keys):
        statement = (
            select(Lot.id, Product.gtin, Lot.code)
            .join(Product, col(Product.id) == Lot.product_id)
            .where(col(Product.gtin).in_({gtin for gtin, _ in chunk}))
            .where(col(Lot.code).in_({code for _, code in chunk}))
        )
        wanted = set(chunk)
        found |= {(g, c): i for i, g, c in session.exec(statement) if (g, c) in wanted}  # type: ignore[misc]
    return found

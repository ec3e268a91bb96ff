"""How a GS1 location or party identifier reads on a page: the registry's name for its
GLN, else its GS1 element string, never a bare ``urn:epc:id:sgln:…`` URN."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, col, select

from trace.epcis.digital_link import normalise_identifier
from trace.models import Producer

# A location (AI 414, with its extension, AI 254) or a party (AI 417), in the constrained
# canonical Digital Link form normalise_identifier gives for SGLN, PGLN and DL URIs alike.
_GLN_KEY = re.compile(r"/(?P<ai>414|417)/(?P<gln>\d{13})(?:/254/(?P<ext>[^/]+))?")


@dataclass(frozen=True)
class GlnKey:
    """A GLN as an identifier names it: location (414) or party (417), and the extension."""

    ai: str
    gln: str
    extension: str | None = None

    @property
    def element_string(self) -> str:
        """As printed under a barcode: ``(414) 0012345111110 (254) dock-2``."""
        text = f"({self.ai}) {self.gln}"
        return f"{text} (254) {self.extension}" if self.extension else text


def gln_key(identifier: object) -> GlnKey | None:
    """The GLN an SGLN/PGLN EPC URI or a Digital Link URI names, or None for anything else."""
    canonical = normalise_identifier(identifier)
    match = _GLN_KEY.fullmatch(urlsplit(canonical).path) if canonical else None
    if match is None:
        return None
    extension = unquote(match["ext"]) if match["ext"] else None
    return GlnKey(match["ai"], match["gln"], extension)


def place_labels(session: Session, identifiers: Iterable[object]) -> dict[str, str]:
    """A readable label for each of ``identifiers`` that names a GLN (others are left out).

    The label is the name of the producer registered with that GLN (plus the location's
    extension, if any), else the GS1 element string. One query for all of them.
    """
    keys = {i: key for i in set(identifiers) if isinstance(i, str) and (key := gln_key(i))}
    wanted = {key.gln for key in keys.values()}
    names: dict[str | None, str] = {}
    if wanted:
        query = select(Producer.gln, Producer.name).where(col(Producer.gln).in_(wanted))
        names = dict(session.exec(query).all())
    return {identifier: _label(key, names.get(key.gln)) for identifier, key in keys.items()}


def _label(key: GlnKey, name: str | None) -> str:
    if name is None:
        return key.element_string
    return f"{name} · (254) {key.extension}" if key.extension else name

"""Linksets (RFC 9264, GS1 linkset schema) for each level we issue, and the Link header."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trace.gs1 import gtin_dl_uri

GS1_VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
OWL_SAME_AS = "owl:sameAs"
LANGUAGES = ("vi", "en")

#: GS1 Web Vocabulary link types this resolver may answer (``supportedLinkType``).
LINK_TYPES = (
    "defaultLink",
    "pip",
    "traceability",
    "certificationInfo",
    "verificationService",
    "sustainabilityInfo",
    "productSustainabilityInfo",
    "masterData",
)
_PREFIXES = ("gs1:", GS1_VOC, "http://gs1.org/voc/", "https://ref.gs1.org/voc/")


@dataclass(frozen=True)
class Link:
    """One target of a link relation: every GS1 linkset target has all four attributes."""

    rel: str  # a GS1 Web Vocabulary term, e.g. "pip"
    href: str
    title: str
    type: str = "text/html"
    hreflang: tuple[str, ...] = LANGUAGES

    def as_json(self) -> dict[str, Any]:
        """The target object of the linkset."""
        return {
            "href": self.href,
            "title": self.title,
            "type": self.type,
            "hreflang": list(self.hreflang),
        }


@dataclass(frozen=True)
class Linkset:
    """The links of one Digital Link URI (its ``anchor``), default link first."""

    anchor: str
    item_description: str
    links: tuple[Link, ...]
    same_as: str | None = None  # the uncompressed URI, when asked by a compressed one
    extra: dict[str, Any] = field(default_factory=dict)

    def of_type(self, rel: str) -> list[Link]:
        """The targets of one link type (``pip``, not ``gs1:pip``)."""
        return [link for link in self.links if link.rel == rel]

    def as_json(self) -> dict[str, Any]:
        """The RFC 9264 JSON document (valid against GS1's linkset schema)."""
        context: dict[str, Any] = {"anchor": self.anchor, "itemDescription": self.item_description}
        for link in self.links:
            context.setdefault(GS1_VOC + link.rel, []).append(link.as_json())
        return {"linkset": [context]}

    def link_header(self, linkset_url: str) -> str:
        """The ``Link`` header: the linkset itself, the default link and, if any, sameAs."""
        parts = [f'<{linkset_url}>; rel="linkset"; type="{LINKSET_TYPE}"']
        for link in self.of_type("defaultLink"):
            parts.append(
                f'<{link.href}>; rel="{GS1_VOC}defaultLink"; type="{link.type}"; '
                f'hreflang="{",".join(link.hreflang)}"'
            )
        if self.same_as:
            parts.append(f'<{self.same_as}>; rel="{OWL_SAME_AS}"')
        return ", ".join(parts)


def normalise_link_type(value: str) -> str | None:
    """``gs1:pip``, ``https://gs1.org/voc/pip`` or ``https://ref.gs1.org/voc/pip`` → ``pip``.

    :returns: None for a link type outside the GS1 Web Vocabulary.
    """
    for prefix in _PREFIXES:
        if value.startswith(prefix) and value[len(prefix) :].isalnum():
            return value[len(prefix) :]
    return None


def linkset_url(anchor: str) -> str:
    """Where the anchor's linkset is served (the anchor asked for ``linkType=linkset``)."""
    return f"{anchor}?linkType=linkset"


def product_linkset(base: str, gtin: str, name: str) -> Linkset:
    """The GTIN level: the product page."""
    anchor = gtin_dl_uri(base, gtin)
    page = _page_links(anchor, name)
    return Linkset(anchor, name, (*page, Link("pip", anchor, name)))


def lot_linkset(
    base: str, gtin: str, lot: str, name: str, *, anchored: bool, passport: str
) -> Linkset:
    """The lot level: the lot page, the product page, the passport, the lot's proof."""
    anchor = gtin_dl_uri(base, gtin, lot=lot)
    title = f"{name} — lô/lot {lot}"
    links = [
        *_page_links(anchor, title),
        Link("pip", gtin_dl_uri(base, gtin), name),
        Link("certificationInfo", f"{anchor}#certifications", f"{title}: chứng nhận/certificates"),
        _passport_link(passport, title),
    ]
    if anchored:
        links.append(_proof_link(lot_proof_url(base, gtin, lot), title))
    return Linkset(anchor, title, tuple(links))


def stamp_linkset(
    base: str, gtin: str, lot: str, serial: str, name: str, *, proof: str | None, passport: str
) -> Linkset:
    """The serial level: the stamp's verification page, its proof, the lot's passport."""
    anchor = gtin_dl_uri(base, gtin, lot=lot, serial=serial)
    title = f"{name} — tem/stamp {serial}"
    links = [
        *_page_links(anchor, title),
        Link("pip", gtin_dl_uri(base, gtin), name),
        Link("certificationInfo", f"{anchor}#certifications", f"{title}: chứng nhận/certificates"),
        _passport_link(passport, title),
    ]
    if proof:
        links.append(_proof_link(proof, title))
    return Linkset(anchor, title, tuple(links))


def lot_proof_url(base: str, gtin: str, lot: str) -> str:
    """The lot-level proof bundle's download address."""
    return f"{gtin_dl_uri(base, gtin, lot=lot).replace('/01/', '/proofs/01/', 1)}.json"


def passport_url(base: str, gtin: str, lot: str) -> str:
    """The lot's digital product passport (JSON-LD)."""
    return f"{gtin_dl_uri(base, gtin, lot=lot).replace('/01/', '/passports/01/', 1)}.jsonld"


def _page_links(anchor: str, title: str) -> tuple[Link, ...]:
    return (
        Link("defaultLink", anchor, f"{title}: truy xuất nguồn gốc/traceability"),
        Link("traceability", anchor, f"{title}: truy xuất nguồn gốc/traceability"),
    )


def _passport_link(href: str, title: str) -> Link:
    return Link(
        "sustainabilityInfo",
        href,
        f"{title}: hộ chiếu số sản phẩm/digital product passport",
        "application/ld+json",
    )


def _proof_link(href: str, title: str) -> Link:
    return Link(
        "verificationService",
        href,
        f"{title}: bằng chứng blockchain/proof bundle",
        "application/json",
    )

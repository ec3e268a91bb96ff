"""EPCIS 2.0 JSON-LD event -> the name/value tree the CBV 2.0 event hash is computed over.

The tree has the shape of the event's XML form (which the hash was first defined on): list
members are named (``epc``, ``quantityElement``, ``sensorElement``), prefixed JSON-LD keys
become ``{namespace}localName``, and bare vocabulary values become their Web URIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    CBV_BASE,
    COMPONENTS,
    DISPOSITIONS,
    GS1_VOC_BASE,
    MEASUREMENT_TYPES,
    SENSOR_ALERT_TYPES,
    SOURCE_DESTINATION_TYPES,
)

#: A JSON-LD ``@context`` (or our shorthand: a plain ``{prefix: namespace IRI}`` mapping).
Context = str | Mapping[str, Any] | Sequence[str | Mapping[str, Any]] | None

#: Prefixes the EPCIS 2.0 context defines for every document.
STANDARD_PREFIXES: Mapping[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV_BASE,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1_VOC_BASE,
}

# Values under these prefixes are GS1 vocabulary and are expanded; a user prefix in a *value*
# stays as written (as the reference implementation does, to match the XML form).
_GS1_NAMESPACES = ("https://ref.gs1.org/", "https://gs1.org/")
_IGNORED_KEYS = frozenset({"@context", "#text", "rdfs:comment", "comment"})
_NOT_HASHED = frozenset({"type", "recordTime", "eventID", "errorDeclaration"})
# Lists whose members are written "type=...<member>=..." (type first, in that order).
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source",
                "destinationList": "destination"}  # fmt: skip
_MEMBER_NAMES = {"inputEPC": "epc", "outputEPC": "epc", "quantity": "quantityElement",
                 "childQuantity": "quantityElement", "inputQuantity": "quantityElement",
                 "outputQuantity": "quantityElement"}  # fmt: skip
# (parent key, key) -> (terms written bare in JSON-LD, IRI prefix they expand with)
_VOCABULARY_FIELDS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("", "bizStep"): (BIZ_STEPS, f"{CBV_BASE}BizStep-"),
    ("", "disposition"): (DISPOSITIONS, f"{CBV_BASE}Disp-"),
    ("persistentDisposition", "set"): (DISPOSITIONS, f"{CBV_BASE}Disp-"),
    ("persistentDisposition", "unset"): (DISPOSITIONS, f"{CBV_BASE}Disp-"),
    ("bizTransactionList", "type"): (BIZ_TRANSACTION_TYPES, f"{CBV_BASE}BTT-"),
    ("sourceList", "type"): (SOURCE_DESTINATION_TYPES, f"{CBV_BASE}SDT-"),
    ("destinationList", "type"): (SOURCE_DESTINATION_TYPES, f"{CBV_BASE}SDT-"),
    ("sensorReport", "type"): (MEASUREMENT_TYPES, GS1_VOC_BASE),
    ("sensorReport", "exception"): (SENSOR_ALERT_TYPES, GS1_VOC_BASE),
    ("sensorReport", "component"): (COMPONENTS, f"{CBV_BASE}Comp-"),
}


@dataclass(frozen=True)
class Node:
    """One element of the hashed tree: a name, a raw text value and child elements."""

    name: str
    value: str = ""
    children: tuple[Node, ...] = ()


def namespaces(*contexts: Context) -> dict[str, str]:
    """Collect ``prefix -> namespace IRI`` from JSON-LD contexts, later ones overriding."""
    found = dict(STANDARD_PREFIXES)
    for context in contexts:
        items = [context] if isinstance(context, Mapping) else context
        if isinstance(items, str) or items is None:
            continue
        for item in items:
            if isinstance(item, Mapping):
                found.update({k: v for k, v in item.items() if isinstance(v, str)})
    return found


def event_nodes(event: Mapping[str, Any], prefixes: Mapping[str, str]) -> list[Node]:
    """Return the hashed fields of ``event`` as nodes (type, recordTime, eventID, errorDeclaration
    and JSON-LD keywords left out)."""
    converter = _Converter(prefixes)
    fields = [(k, v) for k, v in event.items() if k not in _NOT_HASHED]
    return converter.fields(fields, parent="")


class _Converter:
    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = prefixes

    def fields(self, items: Iterable[tuple[str, Any]], parent: str) -> list[Node]:
        nodes: list[Node] = []
        for key, value in items:
            if key not in _IGNORED_KEYS:
                nodes.extend(self.field(key, value, parent))
        return nodes

    def field(self, key: str, value: Any, parent: str) -> list[Node]:
        if key in _TYPED_LISTS:
            return [Node(key, "", tuple(self.typed_member(key, m) for m in _as_list(value)))]
        if key == "childEPCs":
            return [Node(key, "", tuple(self.values("epc", value, key)))]
        name = self.key_name(key)
        if name.endswith("List"):
            member = _MEMBER_NAMES.get(name[:-4], name[:-4])
            return [Node(name, "", tuple(self.values(member, value, key)))]
        return self.values(name, value, parent, key)

    def values(self, name: str, value: Any, parent: str, key: str | None = None) -> list[Node]:
        key = name if key is None else key
        if isinstance(value, list):
            return [node for item in value for node in self.values(name, item, parent, key)]
        if isinstance(value, Mapping):
            return [Node(name, "", tuple(self.fields(value.items(), parent=key)))]
        if value is None:
            return []
        return [Node(name, self.scalar(value, parent, key))]

    def typed_member(self, list_key: str, member: Any) -> Node:
        member_key = _TYPED_LISTS[list_key]
        if not isinstance(member, Mapping):
            return Node("", "", (Node(member_key, self.scalar(member, list_key, member_key)),))
        ordered = ["type", member_key] + sorted(set(member) - {"type", member_key})
        present = [(k, member[k]) for k in ordered if k in member]
        return Node("", "", tuple(self.fields(present, parent=list_key)))

    def key_name(self, key: str) -> str:
        prefix, colon, local = key.partition(":")
        if colon and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        return key

    def scalar(self, value: Any, parent: str, key: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value)
        prefix, colon, local = text.partition(":")
        namespace = self.prefixes.get(prefix, "") if colon else ""
        if namespace.startswith(_GS1_NAMESPACES):
            return namespace + local
        terms, iri_prefix = _VOCABULARY_FIELDS.get((parent, key), (frozenset(), ""))
        return iri_prefix + text if text in terms else text


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

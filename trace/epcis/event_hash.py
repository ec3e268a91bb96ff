"""CBV 2.0 EPCIS Event Hash ID: pre-hash strings and ``ni:///`` URIs for EPCIS 2.0 JSON-LD events.

The algorithm is the one of GS1 CBV 2.0 (section "EPCIS Event Hash ID"); where the standard's prose
leaves room, we follow what its reference implementation, RalphTro/epcis-event-hash-generator (MIT,
Copyright (c) 2019 RalphTro), computes, since that is what produced the published test vectors. The
logic is ported; no code was copied. Known differences from the reference, none of which touches
the published vectors or the events our builders write: JSON key order inside
``bizTransactionList`` / ``sourceList`` / ``destinationList`` members never matters (``type`` is
always written first), a member without ``type`` is hashed instead of dropped, ``null`` values are
left out, bare vocabulary names are expanded only in the fields the EPCIS context types as
vocabulary (not in user extensions that happen to hold the same word), extensions nested in
``readPoint`` and other containers always go at the end of that container whatever their namespace,
an event's own ``@context`` is read for prefixes and not hashed, the prefixes of the standard EPCIS
context (``cbvmda``, ``gs1``, ``cbv``, ``epcis``) expand in keys even when the document does not
repeat them (reference 1.9.3 leaves them as written), a timestamp without offset is taken as UTC
(the reference uses the machine's zone), and ``.9995`` seconds and up round into the next second
instead of failing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from .canonical import canonical_timestamp, canonical_value
from .event_tree import Context, Node, event_nodes, namespaces

CBV_VERSION = "CBV2.0"

#: RFC 6920 / IANA Named Information hash names this module can write.
HASH_ALGORITHMS: Mapping[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
    "sha3-256": hashlib.sha3_256,
}

Order = tuple[tuple[str, "Order | None"], ...]


def _flat(names: str) -> Order:
    return tuple((name, None) for name in names.split())


_EPCS: Order = (("epc", None),)
_QUANTITIES: Order = (("quantityElement", _flat("epcClass quantity uom")),)
_SENSOR_METADATA = _flat(
    "time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules"
)
_SENSOR_REPORT = _flat(
    "type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism "
    "chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue "
    "minValue maxValue meanValue sDev percRank percValue uom coordinateReferenceSystem"
)

#: Canonical property order. bizTransactionList, sourceList, destinationList, ilmd and user
#: extensions are not in it: like every other field outside it they are written after it,
#: sorted as whole substrings (which is why the vectors have destinationList before sourceList).
EVENT_ORDER: Order = (
    *_flat("eventTime eventTimeZoneOffset certificationInfo parentID"),
    ("epcList", _EPCS),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITIES),
    ("childQuantityList", _QUANTITIES),
    ("inputQuantityList", _QUANTITIES),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITIES),
    *_flat("action transformationID bizStep disposition"),
    ("persistentDisposition", _flat("set unset")),
    ("readPoint", _flat("id")),
    ("bizLocation", _flat("id")),
    (
        "sensorElementList",
        (
            (
                "sensorElement",
                (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)),
            ),
        ),
    ),
)

# Members of these lists keep their "type=...value=..." order instead of being sorted.
_KEEP_ORDER_WITH = frozenset({"bizTransaction", "source", "destination"})


def _is_timestamp(name: str) -> bool:
    lowered = name.lower()
    return "time" in lowered and "offset" not in lowered


def _generic_text(nodes: tuple[Node, ...] | list[Node]) -> str:
    """Fields outside the canonical order: ``name=value`` then children, sorted."""
    texts = [_generic_member(node) for node in nodes]
    if not any(node.name in _KEEP_ORDER_WITH for node in nodes):
        texts.sort()
    return "".join(texts)


def _generic_member(node: Node) -> str:
    value = node.value.strip()
    text = f"={canonical_value(value)}" if value else ""
    return node.name + text + _generic_text(node.children)


def _ordered_member(node: Node, order: Order | None) -> str:
    value = node.value.strip()
    if value:
        value = canonical_timestamp(value) if _is_timestamp(node.name) else canonical_value(value)
    if order is None:
        children = _generic_text(node.children)
    else:
        children = _ordered_text(node.children, order)
    if not value and not children:
        return ""
    return node.name + (f"={value}" if value else "") + children


def _ordered_text(nodes: tuple[Node, ...] | list[Node], order: Order) -> str:
    """Fields named in ``order`` in that order (same-name siblings sorted), then the rest."""
    parts: list[str] = []
    rest = list(nodes)
    for name, sub_order in order:
        parts.extend(
            sorted(filter(None, (_ordered_member(n, sub_order) for n in rest if n.name == name)))
        )
        rest = [n for n in rest if n.name != name]
    return "".join(parts) + _generic_text(rest)


def prehash_string(event: Mapping[str, Any], context: Context = None) -> str:
    """Return the CBV 2.0 pre-hash string of one EPCIS 2.0 JSON-LD event.

    :param event: the event object (``{"type": "ObjectEvent", ...}``).
    :param context: the ``@context`` of the document the event came from, so that prefixed
        extension keys expand to their namespace; the event's own ``@context``, if any, is
        applied on top. The prefixes of the standard EPCIS context are always known.
    :returns: the string the hash is computed over.
    :raises ValueError: when ``event`` has no ``type``.
    """
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("an EPCIS event needs a 'type'")
    prefixes = namespaces(context, event.get("@context"))
    return f"eventType={event_type}" + _ordered_text(event_nodes(event, prefixes), EVENT_ORDER)


def hash_id(prehash: str, algorithm: str = "sha-256") -> str:
    """Hash a pre-hash string into ``ni:///<algorithm>;<hex>?ver=CBV2.0`` (RFC 6920).

    :raises ValueError: for an algorithm not in :data:`HASH_ALGORITHMS`.
    """
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"unsupported hash algorithm {algorithm!r}")
    digest = HASH_ALGORITHMS[algorithm](prehash.encode("utf-8")).hexdigest()
    return f"ni:///{algorithm};{digest}?ver={CBV_VERSION}"


def event_hash_id(
    event: Mapping[str, Any], context: Context = None, *, algorithm: str = "sha-256"
) -> str:
    """Return the CBV 2.0 event hash ID of one EPCIS 2.0 JSON-LD event.

    ``eventID``, ``recordTime`` and ``errorDeclaration`` do not take part, so the result can be
    stored as the event's ``eventID``.

    :param event: the event object.
    :param context: the enclosing document's ``@context`` (see :func:`prehash_string`).
    :param algorithm: ``sha-256`` (default), ``sha-384``, ``sha-512`` or ``sha3-256``.
    :returns: e.g. ``ni:///sha-256;6ae9...39d7?ver=CBV2.0``.
    :raises ValueError: for an event without ``type`` or an unknown algorithm.
    """
    return hash_id(prehash_string(event, context), algorithm)


def document_events(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the events of an EPCIS document or query document, in document order.

    :raises ValueError: when the document has no event list.
    """
    body = document.get("epcisBody")
    if not isinstance(body, Mapping):
        raise ValueError("an EPCIS document needs an 'epcisBody' object")
    if "queryResults" in body:
        body = body["queryResults"].get("resultsBody", {})
    if "event" in body:
        return [body["event"]]
    events = body.get("eventList")
    if not isinstance(events, list):
        raise ValueError("the EPCIS document body has no 'eventList'")
    return events


def document_prehash_strings(document: Mapping[str, Any]) -> list[str]:
    """Return the pre-hash string of every event of an EPCIS document, in document order."""
    context = document.get("@context")
    return [prehash_string(event, context) for event in document_events(document)]


def document_hash_ids(document: Mapping[str, Any], *, algorithm: str = "sha-256") -> list[str]:
    """Return the event hash ID of every event of an EPCIS document, in document order."""
    return [hash_id(prehash, algorithm) for prehash in document_prehash_strings(document)]

"""Builders for EPCIS 2.0 JSON-LD events and documents from plain values.

Events come out self-contained: they carry the AgriTrace ``@context`` and, by default, their
CBV 2.0 event hash ID as ``eventID``. :func:`epcis_document` drops an event's ``@context`` when
it is the document's own. Validation lives in :mod:`trace.epcis.validation` and is re-exported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack

from .event_fields import (
    DEFAULT_CONTEXT,
    EPCIS_CONTEXT_URL,
    BizTransaction,
    EventOptions,
    QuantityElement,
    SourceDestination,
    action_value,
    extensions,
    quantity_list,
    time_fields,
    uri,
    where_fields,
    why_fields,
)
from .event_hash import event_hash_id
from .validation import EpcisValidationError, parse_capture, validate_document

__all__ = [
    "DEFAULT_CONTEXT", "EPCIS_CONTEXT_URL", "BizTransaction", "EpcisValidationError",
    "EventOptions", "QuantityElement", "SourceDestination", "aggregation_event",
    "epcis_document", "object_event", "parse_capture", "transaction_event",
    "transformation_event", "validate_document",
]  # fmt: skip


def _event(
    event_type: str,
    event_time: datetime,
    what: Mapping[str, Any],
    options: EventOptions,
    ilmd: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {"@context": copy.deepcopy(DEFAULT_CONTEXT), "type": event_type}
    event |= (
        time_fields(event_time, options) | dict(what) | why_fields(options) | where_fields(options)
    )
    if ilmd:
        event["ilmd"] = extensions(ilmd)
    event |= extensions(options.get("extensions"))
    if not options.get("with_event_id", True):
        return event
    head = list(event.items())[:4]  # @context, type, eventTime, eventTimeZoneOffset
    return dict(head) | {"eventID": event_hash_id(event)} | event


def object_event(
    event_time: datetime,
    *,
    action: str = "OBSERVE",
    epcs: Sequence[str] = (),
    quantities: Sequence[QuantityElement] = (),
    ilmd: Mapping[str, Any] | None = None,
    **options: Unpack[EventOptions],
) -> dict[str, Any]:
    """Build an ObjectEvent: something observed, commissioned (ADD) or retired (DELETE).

    :param event_time: when it happened; must be timezone-aware. Its offset becomes
        ``eventTimeZoneOffset`` unless ``time_zone_offset`` is given.
    :param epcs: instance identifiers, e.g. :func:`~trace.epcis.identifiers.item_uri`.
    :param quantities: class-level quantities, e.g. of :func:`~trace.epcis.identifiers.lot_uri`.
    :param ilmd: lot master data (only with ``action="ADD"``); keys without a prefix go under
        AgriTrace's namespace (``at:``).
    :param options: see :class:`EventOptions`; ``biz_step`` / ``disposition`` are CBV 2.0 names
        (``shipping``, ``in_transit``) or user vocabulary URIs, ``read_point`` / ``biz_location``
        SGLN or Digital Link location URIs, ``extensions`` extra fields (``at:`` by default).
    :returns: the event as a JSON-LD object, with ``eventID`` set to its event hash ID.
    :raises ValueError: when a value breaks the EPCIS 2.0 / CBV 2.0 rules.
    """
    if not (epcs or quantities or options.get("sensor_elements")):
        raise ValueError("an ObjectEvent needs epcs, quantities or sensor elements")
    if ilmd and action != "ADD":
        raise ValueError("ilmd is only allowed on an ObjectEvent with action ADD")
    what: dict[str, Any] = {"epcList": [uri(e, "epc") for e in epcs]} if epcs else {}
    if quantities:
        what["quantityList"] = quantity_list(quantities)
    what["action"] = action_value(action)
    return _event("ObjectEvent", event_time, what, options, ilmd)


def aggregation_event(
    event_time: datetime,
    *,
    action: str,
    parent_id: str | None = None,
    child_epcs: Sequence[str] = (),
    child_quantities: Sequence[QuantityElement] = (),
    **options: Unpack[EventOptions],
) -> dict[str, Any]:
    """Build an AggregationEvent: children packed into (ADD) or out of (DELETE) a parent.

    :raises ValueError: when ADD/DELETE has no ``parent_id`` or a value breaks EPCIS 2.0 rules.
    """
    if action in ("ADD", "DELETE") and not parent_id:
        raise ValueError(f"an AggregationEvent with action {action} needs a parent_id")
    what: dict[str, Any] = {"parentID": uri(parent_id, "parentID")} if parent_id else {}
    if child_epcs:
        what["childEPCs"] = [uri(e, "childEPC") for e in child_epcs]
    if child_quantities:
        what["childQuantityList"] = quantity_list(child_quantities)
    what["action"] = action_value(action)
    return _event("AggregationEvent", event_time, what, options)


def transaction_event(
    event_time: datetime,
    *,
    action: str,
    parent_id: str | None = None,
    epcs: Sequence[str] = (),
    quantities: Sequence[QuantityElement] = (),
    **options: Unpack[EventOptions],
) -> dict[str, Any]:
    """Build a TransactionEvent: objects tied to (ADD) or released from (DELETE) transactions.

    :raises ValueError: without ``biz_transactions`` or when a value breaks EPCIS 2.0 rules.
    """
    if not options.get("biz_transactions"):
        raise ValueError("a TransactionEvent needs biz_transactions")
    what: dict[str, Any] = {"parentID": uri(parent_id, "parentID")} if parent_id else {}
    if epcs:
        what["epcList"] = [uri(e, "epc") for e in epcs]
    if quantities:
        what["quantityList"] = quantity_list(quantities)
    what["action"] = action_value(action)
    return _event("TransactionEvent", event_time, what, options)


def transformation_event(
    event_time: datetime,
    *,
    input_epcs: Sequence[str] = (),
    input_quantities: Sequence[QuantityElement] = (),
    output_epcs: Sequence[str] = (),
    output_quantities: Sequence[QuantityElement] = (),
    transformation_id: str | None = None,
    ilmd: Mapping[str, Any] | None = None,
    **options: Unpack[EventOptions],
) -> dict[str, Any]:
    """Build a TransformationEvent: input lots consumed, output lots created (packing, processing).

    :param ilmd: master data of the outputs (keys without a prefix go under ``at:``).
    :raises ValueError: without any input or output, or when a value breaks EPCIS 2.0 rules.
    """
    if not (input_epcs or input_quantities or output_epcs or output_quantities):
        raise ValueError("a TransformationEvent needs at least one input or output")
    lists = {
        "inputEPCList": [uri(e, "inputEPC") for e in input_epcs],
        "inputQuantityList": quantity_list(input_quantities),
        "outputEPCList": [uri(e, "outputEPC") for e in output_epcs],
        "outputQuantityList": quantity_list(output_quantities),
    }
    what: dict[str, Any] = {key: items for key, items in lists.items() if items}
    if transformation_id:
        what["transformationID"] = uri(transformation_id, "transformationID")
    return _event("TransformationEvent", event_time, what, options, ilmd)


def epcis_document(
    events: Sequence[Mapping[str, Any]],
    *,
    created: datetime | None = None,
    document_id: str | None = None,
    context: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Wrap events in an EPCIS 2.0 JSON-LD ``EPCISDocument``.

    :param events: events, e.g. from the builders here; an event's ``@context`` is dropped when
        it equals the document's.
    :param created: ``creationDate`` (timezone-aware); now, in UTC, by default.
    :param document_id: an optional document ``id`` URI.
    :param context: the document ``@context``; :data:`DEFAULT_CONTEXT` by default.
    :raises ValueError: for a naive ``created`` or a non-URI ``document_id``.
    """
    created = created or datetime.now(UTC)
    if created.utcoffset() is None:
        raise ValueError("created must be timezone-aware")
    document_context = copy.deepcopy(list(context if context is not None else DEFAULT_CONTEXT))
    document: dict[str, Any] = {"@context": document_context, "type": "EPCISDocument"}
    if document_id:
        document["id"] = uri(document_id, "id")
    document["schemaVersion"] = "2.0"
    document["creationDate"] = created.isoformat(timespec="milliseconds")
    event_list = [_without_context(e, document_context) for e in events]
    document["epcisBody"] = {"eventList": event_list}
    return document


def _without_context(event: Mapping[str, Any], context: list[Any]) -> dict[str, Any]:
    if event.get("@context") == context:
        return {k: v for k, v in event.items() if k != "@context"}
    return dict(event)

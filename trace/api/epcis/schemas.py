"""Schemas of EPCIS 2.0 capture and query."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from webargs.fields import DelimitedList

from trace.api.fields import record_id

EVENT_TYPES = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
]


def _list(name: str, description: str, **kwargs: Any) -> DelimitedList:
    return DelimitedList(
        fields.String(validate=validate.Length(min=1, max=250)),
        data_key=name,
        metadata={"description": description + " Several values: comma-separated."},
        **kwargs,
    )


class EpcisDocumentSchema(Schema):
    """An EPCIS 2.0 JSON-LD document (`EPCISDocument`) or a single event."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True, metadata={"description": "EPCISDocument or an event type."})


class CaptureSchema(Schema):
    """What a capture stored."""

    captured = fields.Integer(required=True, metadata={"description": "Events in the document."})
    new = fields.Integer(required=True, metadata={"description": "Events not stored before."})
    schema_validated = fields.Boolean(
        required=True,
        metadata={
            "description": "Always true: every capture is validated against the EPCIS 2.0 "
            "JSON schema (kept for existing clients)."
        },
    )
    event_ids = fields.List(
        fields.String(), required=True, metadata={"description": "CBV 2.0 event hash IDs."}
    )
    errors_declared = fields.Integer(
        required=True,
        metadata={"description": "Stored events this document declared erroneous."},
    )
    lots = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Integer()),
        required=True,
        metadata={"description": "Our lots each event names (by event hash ID)."},
    )


class EventQueryArgsSchema(Schema):
    """EPCIS 2.0 query parameters (SimpleEventQuery subset) and paging."""

    eventType = _list("eventType", "Event types.", validate=validate.ContainsOnly(EVENT_TYPES))
    GE_eventTime = fields.AwareDateTime(data_key="GE_eventTime")
    LT_eventTime = fields.AwareDateTime(data_key="LT_eventTime")
    EQ_bizStep = _list("EQ_bizStep", "CBV business steps (bare, URN or Web URI).")
    EQ_disposition = _list("EQ_disposition", "CBV dispositions.")
    EQ_bizLocation = _list("EQ_bizLocation", "Business locations (SGLN or Digital Link).")
    MATCH_epc = _list("MATCH_epc", "Instance identifiers in epcList, childEPCs, inputs, outputs.")
    MATCH_anyEPC = _list("MATCH_anyEPC", "As MATCH_epc, and parentID.")
    MATCH_epcClass = _list("MATCH_epcClass", "Class identifiers (lot URIs) in quantity lists.")
    lot_id = record_id("Events of one of our lots (ours and captured).")
    perPage = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    nextPageToken = fields.String(validate=validate.Length(max=200))


class EventPageSchema(Schema):
    """A page of EPCIS 2.0 events (each with its eventID = CBV 2.0 event hash ID)."""

    items = fields.List(fields.Dict(), required=True)
    per_page = fields.Integer(required=True)
    next_page_token = fields.String(allow_none=True, required=True)
    next = fields.String(allow_none=True, required=True, metadata={"description": "Next page URL."})

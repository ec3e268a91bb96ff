"""EPCIS 2.0 / CBV 2.0 for AgriTrace: event hash IDs, JSON-LD documents, capture parsing.

Pure: no I/O or other side effects at import, and nothing imported from the rest of ``trace``.
"""

from __future__ import annotations

from .cbv_mapping import CBV_BIZSTEP, EVENT_PROFILES, FSMA_CTE, EventProfile
from .document import (
    DEFAULT_CONTEXT,
    BizTransaction,
    EventOptions,
    QuantityElement,
    SourceDestination,
    aggregation_event,
    epcis_document,
    object_event,
    transaction_event,
    transformation_event,
)
from .event_hash import (
    document_hash_ids,
    document_prehash_strings,
    event_hash_id,
    hash_id,
    prehash_string,
)
from .identifiers import item_uri, location_uri, lot_uri, party_uri
from .validation import (
    DEFAULT_SCHEMA_PATH,
    EpcisValidationError,
    load_schema,
    parse_capture,
    validate_document,
)
from .vocabulary import AGRITRACE_NS, AGRITRACE_PREFIX

__all__ = [
    "AGRITRACE_NS", "AGRITRACE_PREFIX", "CBV_BIZSTEP", "DEFAULT_CONTEXT", "DEFAULT_SCHEMA_PATH",
    "EVENT_PROFILES", "FSMA_CTE", "BizTransaction", "EpcisValidationError", "EventOptions",
    "EventProfile", "QuantityElement", "SourceDestination", "aggregation_event",
    "document_hash_ids", "document_prehash_strings", "epcis_document", "event_hash_id",
    "hash_id", "item_uri", "load_schema", "location_uri", "lot_uri", "object_event",
    "parse_capture", "party_uri", "prehash_string", "transaction_event", "transformation_event",
    "validate_document",
]  # fmt: skip

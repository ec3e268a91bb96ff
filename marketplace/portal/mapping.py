"""The national traceability portal's endpoint paths and field names, in one place.

The portal's API is not public. What is known of its object model (Decision 100/QĐ-TTg,
Circular 02/2024/TT-BKHCN): an organisation profile activated by tax code or GLN,
products by GTIN, growing areas, production orders, a chain identifier used as the trace
code, and stage events. The names below are our sandbox's guesses; when the real API is
published, only this module (and the sandbox that mirrors it) should change.
"""

from __future__ import annotations

from typing import Final

# --- endpoints ------------------------------------------------------------------------

TOKEN_PATH: Final = "/oauth2/token"
ACTIVATE_PATH: Final = "/api/v1/organizations/activate"
ORGANIZATIONS_PATH: Final = "/api/v1/organizations"
PRODUCTS_PATH: Final = "/api/v1/products"
GROWING_AREAS_PATH: Final = "/api/v1/growing-areas"
PRODUCTION_ORDERS_PATH: Final = "/api/v1/production-orders"
STAGE_EVENTS_PATH: Final = "/api/v1/stage-events"
RECALL_PATH: Final = "/api/v1/production-orders/{id}/recall"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"

# --- envelope ---------------------------------------------------------------------------

DATA: Final = "data"  # every answer's payload
ITEMS: Final = "items"  # a list answer's objects
ID: Final = "id"  # every object's portal id
ERROR_CODE: Final = "error"
ERROR_MESSAGE: Final = "message"
ERROR_FIELDS: Final = "fields"

# --- fields -----------------------------------------------------------------------------

SOURCE_REF: Final = "source_ref"  # our stable reference of an object, for look-ups
ORG_ID: Final = "organization_id"
TAX_CODE: Final = "tax_code"
GLN: Final = "gln"
ORG_NAME: Final = "name"
ORG_ADDRESS: Final = "address"
GTIN: Final = "gtin"
PRODUCT_NAME: Final = "name"
PRODUCT_NAME_EN: Final = "name_en"
PRODUCT_CATEGORY: Final = "category"
UNIT: Final = "unit"
AREA_NAME: Final = "name"
AREA_HECTARES: Final = "area_ha"
LATITUDE: Final = "latitude"
LONGITUDE: Final = "longitude"
ORDER_CODE: Final = "order_code"
ORDER_GTIN: Final = "product_gtin"
ORDER_AREA: Final = "growing_area_id"
TRACE_CODE: Final = "trace_code"  # the chain identifier: our lot's Digital Link
QUANTITY: Final = "quantity"
HARVEST_DATE: Final = "harvest_date"
STAGE: Final = "stage"
EVENT_TIME: Final = "event_time"
LOCATION: Final = "location"
NOTE: Final = "note"
REPLACES: Final = "replaces_source_ref"
RECALL_REASON: Final = "reason"
RECALLED_AT: Final = "recalled_at"
STATUS: Final = "status"

# --- values -----------------------------------------------------------------------------

TRANSPORT, PROCESSING, WAREHOUSE, DEALER, SHOP = (
    "transport", "processing", "warehouse", "dealer", "shop",
)  # fmt: skip
PORTAL_STAGES: Final = (TRANSPORT, PROCESSING, WAREHOUSE, DEALER, SHOP)
#: Our supply-chain event kinds as the portal's stages. Growing events (planting, inputs,
#: harvest) travel with the production order and its growing area; an inspection is not a
#: stage; a recall has its own call. ``receiving`` is a warehouse unless the event says
#: who received it (``details["receiver"]``: dealer or shop).
STAGES: Final = {
    "shipping": TRANSPORT,
    "cooling": PROCESSING,
    "initial_packing": PROCESSING,
    "transformation": PROCESSING,
    "receiving": WAREHOUSE,
}
RECEIVERS: Final = {"dealer": DEALER, "shop": SHOP, "warehouse": WAREHOUSE}


def stage_for(kind: str, details: dict[str, object]) -> str | None:
    """The portal stage of one of our events, or None when the portal takes no stage for it."""
    stage = STAGES.get(kind)
    if stage == WAREHOUSE:
        return RECEIVERS.get(str(details.get("receiver", "")), WAREHOUSE)
    return stage

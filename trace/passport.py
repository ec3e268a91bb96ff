"""A lot's digital product passport: its anchored content and its JSON-LD rendering.

The minimum content is Vietnam's: Decree 37/2026/NĐ-CP Art. 32 (product name and GTIN,
operator name, address and identifier, origin, traceability information, certificates,
dates, warnings) and Circular 02/2024/TT-BKHCN Art. 6 (product name and image, producer
name and address, each stage with a product tracing code, a location tracing code and the
event time, production time, traceability code, brand/serial if any, shelf life if any,
standards applied). The content is built from the lot document it is anchored in, so the
lot's proof bundle proves the passport too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from trace.gs1 import dl_uri_unchecked
from trace.i18n import _l
from trace.models import Event
from trace.models.epcis import CapturedEvent
from trace.services.captured_events import captured_kind, location_gln, offset_minutes, utc

#: Required passport fields, in the order a producer is told about the missing ones.
REQUIRED_FIELDS = (
    "product_image",
    "origin_plot",
    "location_code",
    "stages",
    "certificates",
)
#: How each required field reads to the producer who has not filled it in.
FIELD_LABELS = {
    "product_image": _l("a product photo (not yet collected by AgriTrace)"),
    "origin_plot": _l("the plot the lot was grown on"),
    "location_code": _l("your GLN (location tracing code)"),
    "stages": _l("at least one supply-chain event"),
    "certificates": _l("the standards applied (a certificate)"),
}
JSONLD_CONTEXT: dict[str, Any] = {
    "@vocab": "https://schema.org/",
    "gs1": "https://gs1.org/voc/",
    "at": "urn:agritrace:passport:",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "productionDate": {"@id": "productionDate", "@type": "xsd:date"},
    "validFrom": {"@id": "validFrom", "@type": "xsd:date"},
    "expires": {"@id": "expires", "@type": "xsd:date"},
    "startDate": {"@id": "startDate", "@type": "xsd:dateTime"},
}


def passport_stages(
    events: Sequence[Event], event_ids: Sequence[str], captured: Sequence[CapturedEvent] = ()
) -> list[dict[str, Any]]:
    """The lot's supply-chain stages in time order, each with its event hash ID.

    :param events: the lot's events by id; ``event_ids`` are their hash IDs, same order.
    :param captured: the EPCIS events captured for the lot (error-declared ones are left
        out); such a stage's location code is its own location's GLN.
    """
    stages = [
        {
            "event_id": event_id,
            "kind": event.kind,
            "time": event.occurred_at.isoformat(),
            "tz_offset_minutes": event.tz_offset_minutes,
            "place": event.place,
        }
        for event, event_id in zip(events, event_ids, strict=True)
    ]
    if not captured:
        return stages
    kept = [e for e in captured if "errorDeclaration" not in e.document]
    both = stages + [_captured_stage(e) for e in sorted(kept, key=lambda e: e.hash_id)]
    # Stable: registry stages keep their order and come first on a tie.
    return sorted(both, key=lambda stage: utc(datetime.fromisoformat(stage["time"])))


def _captured_stage(event: CapturedEvent) -> dict[str, Any]:
    place = event.biz_location or ""
    return {
        "event_id": event.hash_id,
        "kind": captured_kind(event),
        "time": utc(event.event_time).isoformat(),
        "tz_offset_minutes": offset_minutes(event),
        "place": place,
        "location_code": location_gln(place) if place else None,
    }


def passport_content(document: dict[str, Any], stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The passport as anchored: plain data taken from the lot document and its stages."""
    product, producer, lot = document["product"], document["producer"], document["lot"]
    trace_code = dl_uri_unchecked(None, [("01", product["gtin"]), ("10", lot["code"])])
    passport = {
        "product": {**product, "image": None},
        "operator": {
            "name": producer["name"],
            "identifier": producer["registration_number"],
            "gln": producer["gln"],
            "address": ", ".join(
                p for p in (producer["commune"], producer["district"], producer["province"]) if p
            ),
        },
        "origin": {"country": "VN", "province": producer["province"], "plot": lot["plot"]},
        "traceability_code": trace_code,
        "production_date": lot["harvest_date"],
        "quantity": {"value": lot["quantity"], "unit": lot["unit"]},
        "stages": [
            {"location_code": producer["gln"], **stage, "product_code": trace_code}
            for stage in stages
        ],
        "certificates": document["certifications"],
        "warnings": [{"kind": "recall", "since": lot["recalled_at"]}] if lot["recalled_at"] else [],
    }
    passport["missing"] = missing_fields(passport)
    return passport


def missing_fields(passport: dict[str, Any]) -> list[str]:
    """The required fields (:data:`REQUIRED_FIELDS`) the producer has not filled in yet."""
    filled = {
        "product_image": bool(passport["product"].get("image")),
        "origin_plot": passport["origin"]["plot"] is not None,
        "location_code": bool(passport["operator"]["gln"]),
        "stages": bool(passport["stages"]),
        "certificates": bool(passport["certificates"]),
    }
    return [name for name in REQUIRED_FIELDS if not filled[name]]


def passport_jsonld(passport: dict[str, Any], lot_uri: str) -> dict[str, Any]:
    """The passport as JSON-LD: a schema.org Product with GS1 Web Vocabulary terms.

    :param lot_uri: the lot's Digital Link URI on this service (the node's ``@id``).
    """
    product, operator = passport["product"], passport["operator"]
    return {
        "@context": JSONLD_CONTEXT,
        "@id": lot_uri,
        "@type": ["Product", "gs1:Product"],
        "name": [
            {"@value": product["name_vi"], "@language": "vi"},
            {"@value": product["name_en"], "@language": "en"},
        ],
        "gtin": product["gtin"],
        "gs1:gtin": product["gtin"],
        "gs1:hasBatchLotNumber": passport["traceability_code"].rsplit("/10/", 1)[1],
        "sameAs": {"@id": passport["traceability_code"]},
        "productionDate": passport["production_date"],
        "countryOfOrigin": {"@type": "Country", "name": passport["origin"]["country"]},
        "manufacturer": _organisation(operator),
        "hasCertification": [_certificate(c) for c in passport["certificates"]],
        "at:traceabilityCode": passport["traceability_code"],
        "at:stages": [_stage(s) for s in passport["stages"]],
        "at:warnings": [f"{w['kind']}:{w['since']}" for w in passport["warnings"]],
        "at:missingFields": passport["missing"],
        **({"image": product["image"]} if product.get("image") else {}),
        **_origin_place(passport["origin"]),
    }


def _organisation(operator: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "Organization",
        "name": operator["name"],
        "identifier": operator["identifier"],
        "address": {"@type": "PostalAddress", "streetAddress": operator["address"]},
    }
    if operator["gln"]:
        node["gs1:globalLocationNumber"] = operator["gln"]
    return node


def _certificate(cert: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Certification",
        "name": cert["scheme"],
        "identifier": cert["number"],
        "issuedBy": {"@type": "Organization", "name": cert["issuer"]},
        "validFrom": cert["valid_from"],
        "expires": cert["valid_to"],
    }


def _stage(stage: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Event",
        "@id": stage["event_id"],
        "name": stage["kind"],
        "startDate": stage["time"],
        "location": {"@type": "Place", "name": stage["place"]},
        "at:productCode": stage["product_code"],
        "at:locationCode": stage["location_code"],
    }


def _origin_place(origin: dict[str, Any]) -> dict[str, Any]:
    plot = origin["plot"]
    if plot is None:
        return {}
    return {
        "at:origin": {
            "@type": "Place",
            "name": plot["name"],
            "geo": {
                "@type": "GeoCoordinates",
                "latitude": plot["latitude"],
                "longitude": plot["longitude"],
            },
            "address": {"@type": "PostalAddress", "addressRegion": origin["province"]},
        }
    }

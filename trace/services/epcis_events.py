"""The registry's events written as EPCIS 2.0 events, each with its CBV event hash ID."""

from __future__ import annotations

from typing import Any

from trace.epcis import (
    EVENT_PROFILES,
    QuantityElement,
    location_uri,
    lot_uri,
    object_event,
    transformation_event,
)
from trace.models import Event, Lot, Plot, Producer, Product
from trace.services.events import local_time

UNITS_OF_MEASURE = {"kg": "KGM", "tonne": "TNE", "litre": "LTR"}


def to_epcis(
    event: Event,
    lot: Lot,
    product: Product,
    producer: Producer,
    plot: Plot | None,
    *,
    with_ilmd: bool = True,
) -> dict[str, Any]:
    """One registry event as an EPCIS 2.0 JSON-LD event (with ``eventID`` set).

    :param plot: the lot's plot (its growing area goes into a harvest's ILMD).
    :param with_ilmd: False writes a harvest as lot documents of schema 1 hashed it,
        without ILMD (:mod:`trace.anchoring.documents`).
    """
    profile = EVENT_PROFILES[event.kind]
    lot_class = lot_uri(product.gtin, lot.code)
    options: dict[str, Any] = {"biz_step": profile.biz_step, "extensions": _extensions(event)}
    if profile.disposition:
        options["disposition"] = profile.disposition
    if producer.gln:
        options["biz_location"] = location_uri(producer.gln)
    when = local_time(event)
    if profile.event_type == "TransformationEvent":
        inputs = [_input_class(product, i) for i in event.details.get("input_lots", [])]
        return transformation_event(
            when,
            input_quantities=inputs or [QuantityElement(lot_class)],
            output_quantities=[_quantity(lot_class, lot)],
            **options,
        )
    if event.kind == "harvest":
        ilmd = harvest_ilmd(lot, plot) if with_ilmd else None
        quantities = [_quantity(lot_class, lot)]
        return object_event(when, action="ADD", quantities=quantities, ilmd=ilmd, **options)
    quantity = QuantityElement(lot_class)
    return object_event(when, action=profile.action or "OBSERVE", quantities=[quantity], **options)


def hash_id_of(
    event: Event,
    lot: Lot,
    product: Product,
    producer: Producer,
    plot: Plot | None,
    *,
    with_ilmd: bool = True,
) -> str:
    """The CBV 2.0 event hash ID (``ni:///sha-256;...?ver=CBV2.0``) of a registry event."""
    # to_epcis sets eventID to the hash already (eventID takes no part in it): not twice.
    return str(to_epcis(event, lot, product, producer, plot, with_ilmd=with_ilmd)["eventID"])


def harvest_ilmd(lot: Lot, plot: Plot | None) -> dict[str, Any]:
    """The instance/lot master data a harvest gives its lot, in CBV 2.0 terms where CBV has them.

    ``cbvmda:lotNumber``, ``cbvmda:harvestStartDate`` / ``harvestEndDate`` (one day: the
    lot's harvest date) and ``cbvmda:countryOfOrigin``; CBV has no term for the field or
    growing area FSMA 204 asks for, so the plot goes under AgriTrace's namespace
    (``at:growingArea``). The quantity is the event's ``quantityList``.
    """
    day = lot.harvest_date.isoformat()
    ilmd: dict[str, Any] = {
        "cbvmda:lotNumber": lot.code,
        "cbvmda:harvestStartDate": day,
        "cbvmda:harvestEndDate": day,
        "cbvmda:countryOfOrigin": "VN",
    }
    if plot is not None:
        ilmd["growingArea"] = {
            "name": plot.name,
            "latitude": plot.latitude,
            "longitude": plot.longitude,
        }
    return ilmd


def _quantity(lot_class: str, lot: Lot) -> QuantityElement:
    uom = UNITS_OF_MEASURE.get(lot.unit)
    return QuantityElement(lot_class, lot.quantity, uom) if uom else QuantityElement(lot_class)


def _input_class(product: Product, reference: dict[str, Any]) -> QuantityElement:
    gtin = reference.get("gtin", product.gtin)
    return QuantityElement(lot_uri(gtin, str(reference["code"])))


def _extensions(event: Event) -> dict[str, Any]:
    fields: dict[str, Any] = {"recordId": event.id, "kind": event.kind, "place": event.place}
    fields |= {k: v for k, v in event.details.items() if k != "input_lots" and v is not None}
    if event.note:
        fields["note"] = event.note
    if event.supersedes_id:
        fields["supersedes"] = event.supersedes_id
    return fields

"""The product page (``/01/{gtin}``) and the lot page (``/01/{gtin}/10/{lot}``) as data."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from sqlmodel import Session

from stamps.extensions import story_cache
from stamps.report import lot_story
from stamps.resolver.linkset import lot_proof_url, passport_url
from stamps.resolver.targets import Target
from stamps.verdict import Verdict, lot_verdict
from trace.anchoring.documents import build_document
from trace.extensions import public_listings, stock_counter
from trace.gs1 import gtin_dl_uri
from trace.models.base import stored_id
from trace.services.certifications import covering_product
from trace.services.on_sale import lots_on_sale

MAX_LOTS_SHOWN = 30


def product_facts(session: Session, target: Target, base: str, today: date) -> dict[str, Any]:
    """What the product page shows: product, producer, valid certificates, lots, listings."""
    product, producer = target.product, target.producer
    product_id = stored_id(product)
    certificates = [
        {
            "scheme": c.certification.scheme,
            "ocop_stars": c.certification.ocop_stars,
            "number": c.certification.number,
            "issuer": c.certification.issuer,
            "valid_to": c.certification.valid_to.isoformat(),
            "standing": c.standing(today),
        }
        for c in covering_product(session, stored_id(producer), product_id)
        if c.standing(today) != "expired"
    ]
    listings = public_listings(current_app)
    return {
        "level": "gtin",
        "uri": gtin_dl_uri(base, product.gtin),
        "product": _product(target),
        "producer": _producer(target),
        "certifications": certificates,
        "lots_on_sale": [
            {
                "code": lot.code,
                "harvest_date": lot.harvest_date.isoformat(),
                "uri": gtin_dl_uri(base, product.gtin, lot=lot.code),
            }
            for lot in lots_on_sale(session, stock_counter(current_app), product_id, MAX_LOTS_SHOWN)
        ],
        "listings": listings(session, product_id) if listings else [],
        "unknown": target.unknown,
        "asked_lot": target.asked_lot,
    }


def lot_facts(session: Session, target: Target, base: str, today: date) -> dict[str, Any]:
    """What the lot page shows: the story, the verdict, the anchor, the passport.

    The story is read first: reading it afresh checks the lot's integrity, which may find
    the lot tampered before its verdict is given. A serial we never issued that walked up
    to this lot is NOT_FOUND, whatever the lot's own verdict.
    """
    lot, product, producer = target.lot, target.product, target.producer
    assert lot is not None and lot.id is not None and producer.id is not None
    story = lot_story(session, lot, producer.id, today, story_cache(current_app))
    verdict = Verdict.NOT_FOUND if target.unknown == "serial" else lot_verdict(lot, producer)
    anchoring = dict(story.anchoring)
    if lot.tampered_at is not None:
        anchoring = {"status": "tampered", "since": lot.tampered_at.isoformat()}
    elif anchoring["status"] == "anchored":
        anchoring["proof"] = lot_proof_url(base, product.gtin, lot.code)
    passport = build_document(session, lot.id).get("passport")
    return {
        "level": "lot",
        "uri": gtin_dl_uri(base, product.gtin, lot=lot.code),
        "verdict": str(verdict),
        "product": _product(target),
        "producer": _producer(target),
        "lot": {
            "code": lot.code,
            "harvest_date": lot.harvest_date.isoformat(),
            "recalled_at": lot.recalled_at.isoformat() if lot.recalled_at else None,
            "recall_reason": lot.recall_reason,
        },
        "certifications": story.certifications,
        "events": story.events,
        "anchoring": anchoring,
        "passport": passport,
        "passport_url": passport_url(base, product.gtin, lot.code),
        "unknown": target.unknown,
        "asked_serial": target.asked_serial,
        "story": story,
    }


def _product(target: Target) -> dict[str, Any]:
    product = target.product
    return {"gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en}


def _producer(target: Target) -> dict[str, Any]:
    producer = target.producer
    return {
        "name": producer.name,
        "status": producer.status,
        "commune": producer.commune,
        "district": producer.district,
        "province": producer.province,
    }

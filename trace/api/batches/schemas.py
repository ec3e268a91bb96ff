"""Schemas of the lot (batch) resources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.api.fields import decimal_string, record_id
from trace.api.pagination import PageQueryArgsSchema, page_schema


class LotQueryArgsSchema(PageQueryArgsSchema):
    """Filters of the lot list (a farmer's token only ever lists that farmer's lots)."""

    producer_id = record_id()
    product_id = record_id()
    gtin = fields.String(validate=validate.Regexp(r"^\d{14}$"))
    code = fields.String(validate=validate.Length(max=20))
    district = fields.String(validate=validate.Length(max=100))
    recalled = fields.Boolean()
    harvested_from = fields.Date()
    harvested_to = fields.Date()


class LotSchema(Schema):
    """A lot (batch) with its product and producer."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    gtin = fields.String(required=True)
    uri = fields.String(required=True, metadata={"description": "GS1 Digital Link class URI."})
    product_id = fields.Integer(required=True)
    product_name_vi = fields.String(required=True)
    product_name_en = fields.String(required=True)
    producer_id = fields.Integer(required=True)
    producer_name = fields.String(required=True)
    harvest_date = fields.Date(required=True)
    quantity = decimal_string(required=True)
    unit = fields.String(required=True)
    stamp_count = fields.Integer(required=True)
    recalled_at = fields.DateTime(allow_none=True)
    tampered_at = fields.DateTime(allow_none=True)


LotPageSchema = page_schema(LotSchema, "LotPageSchema")


class EventSchema(Schema):
    """A supply-chain event of the lot, with its CBV 2.0 event hash ID."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    occurred_at = fields.DateTime(required=True, metadata={"description": "In its own offset."})
    place = fields.String(required=True)
    note = fields.String(required=True)
    details = fields.Dict(required=True)
    recorded_by_id = fields.Integer(required=True)
    supersedes_id = fields.Integer(allow_none=True)
    superseded_by = fields.Integer(allow_none=True)
    event_hash_id = fields.String(required=True)


class CertificationSchema(Schema):
    """A certification of the lot's producer."""

    scheme = fields.String(required=True)
    ocop_stars = fields.Integer(allow_none=True)
    number = fields.String(required=True)
    issuer = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(required=True)
    expired = fields.Boolean(required=True)
    pdf_sha256 = fields.String(allow_none=True)


class AnchorSchema(Schema):
    """One stored document version of the lot and the round that anchored it."""

    version = fields.Integer(required=True)
    doc_hash = fields.String(required=True)
    stamp_root = fields.String(allow_none=True)
    round_id = fields.Integer(allow_none=True)
    status = fields.String(
        required=True, metadata={"description": "waiting, prepared, confirmed or failed."}
    )
    root = fields.String(allow_none=True)
    tx_hash = fields.String(allow_none=True)
    block_number = fields.Integer(allow_none=True)
    chain_id = fields.Integer(allow_none=True)
    contract_address = fields.String(allow_none=True)
    lot_proof = fields.List(fields.String(), allow_none=True)


class ProducerRefSchema(Schema):
    """The producer of a lot."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    registration_number = fields.String(required=True)
    commune = fields.String(required=True)
    district = fields.String(required=True)
    province = fields.String(required=True)
    gln = fields.String(allow_none=True)


class LotDetailSchema(LotSchema):
    """A lot with everything recorded about it."""

    producer = fields.Nested(ProducerRefSchema, required=True)
    plot = fields.Dict(allow_none=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
    certifications = fields.List(fields.Nested(CertificationSchema), required=True)
    anchors = fields.List(fields.Nested(AnchorSchema), required=True)
    inputs = fields.List(fields.Nested(LotSchema), required=True)
    outputs = fields.List(fields.Nested(LotSchema), required=True)


class IntegritySchema(Schema):
    """The lot's document recomputed from the database and compared with its anchor."""

    lot_id = fields.Integer(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["intact", "tampered", "changing", "unrecorded"]),
    )
    current_hash = fields.String(required=True)
    recorded_hash = fields.String(allow_none=True)
    anchored_hash = fields.String(allow_none=True)
    anchored_version = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class RecallCreateSchema(Schema):
    """Why the lot is recalled."""

    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class AffectedStampSchema(Schema):
    """A recalled stamp that consumers have scanned, and where it was last seen."""

    serial = fields.String(required=True)
    uri = fields.String(required=True)
    scan_count = fields.Integer(required=True)
    last_scanned_at = fields.DateTime(allow_none=True)
    last_scan_province = fields.String(allow_none=True)


class RecallStampsSchema(Schema):
    """The lot's stamps after the recall."""

    recalled = fields.Integer(required=True, metadata={"description": "Stamps now RECALLED."})
    scanned = fields.List(
        fields.Nested(AffectedStampSchema),
        required=True,
        metadata={
            "description": "Recalled stamps already scanned (most recent first, at most 1,000)."
        },
    )


class ReachedLotSchema(LotSchema):
    """A lot a recall reached: the recalled lot or one made from it."""

    recalled_now = fields.Boolean(
        required=True,
        metadata={"description": "This request recalled it (false: an earlier recall did)."},
    )
    recall_origin_lot_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The lot whose recall reached it (null: recalled itself)."},
    )
    recall_reason = fields.String(allow_none=True)
    stamps_recalled = fields.Integer(
        required=True, metadata={"description": "Its stamps now RECALLED."}
    )


class RecallSchema(Schema):
    """The outcome of a recall; a repeat reports the first recall and changes nothing."""

    lot_id = fields.Integer(required=True)
    reason = fields.String(required=True)
    recalled_at = fields.DateTime(required=True)
    already_recalled = fields.Boolean(
        required=True, metadata={"description": "True when an earlier request did the recall."}
    )
    event_id = fields.Integer(allow_none=True, metadata={"description": "The recall event."})
    delisting_queued = fields.Boolean(
        required=True,
        metadata={"description": "This request queued delisting (false when nothing changed)."},
    )
    stamps = fields.Nested(RecallStampsSchema, required=True)
    affected_lots = fields.List(
        fields.Nested(LotSchema),
        required=True,
        metadata={
            "description": "Lots made from this lot by transformation, at any depth: "
            "recalled with it."
        },
    )
    lots = fields.List(
        fields.Nested(ReachedLotSchema),
        required=True,
        metadata={"description": "Every lot the recall reached, this lot first, nearest next."},
    )
    input_lots = fields.List(
        fields.Nested(LotSchema),
        required=True,
        metadata={
            "description": "Lots this lot was made from, at any depth: listed, not recalled."
        },
    )

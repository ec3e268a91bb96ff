"""Schemas of the stamp resources of the inspector API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from stamps.models import FlagReview, FlagRule
from stamps.render.layout import GRIDS
from stamps.verdict import Verdict
from trace.api.alerts.schemas import tampered_lots_field
from trace.api.fields import decimal_string, record_id
from trace.api.pagination import PageQueryArgsSchema, page_schema


class StampVerdictSchema(Schema):
    """A stamp's verdict and the facts behind it (looking it up is not a consumer scan)."""

    serial = fields.String(required=True)
    uri = fields.String(required=True, metadata={"description": "The stamp's Digital Link URI."})
    verdict = fields.String(required=True, validate=validate.OneOf([str(v) for v in Verdict]))
    status = fields.String(required=True)
    lot_id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    gtin = fields.String(required=True)
    product_name_vi = fields.String(required=True)
    producer_id = fields.Integer(required=True)
    producer_name = fields.String(required=True)
    recalled_at = fields.DateTime(allow_none=True)
    scan_count = fields.Integer(required=True)
    first_scan_at = fields.DateTime(allow_none=True)
    first_scan_province = fields.String(allow_none=True)
    flags = fields.List(fields.String(), required=True)


class ProofBundleSchema(Schema):
    """A self-contained proof bundle: check it with `python -m chain.verify BUNDLE.json --rpc URL`.

    URL is a JSON-RPC node of the bundle's chain that you trust: the service's public
    `/chain/rpc` when it runs the embedded chain (the bundle's `rpc_hint`), or any node of
    that chain.
    """

    format = fields.String(required=True)
    version = fields.Integer(required=True)
    document = fields.Dict(required=True, metadata={"description": "The anchored lot document."})
    stamp = fields.Dict(required=True, metadata={"description": "serial and its Merkle path."})
    lot = fields.Dict(required=True, metadata={"description": "The document's path in the round."})
    anchor = fields.Dict(required=True, metadata={"description": "Root, chain, contract, tx."})
    rpc_hint = fields.String(allow_none=True)
    verdict = fields.String(
        validate=validate.OneOf([str(v) for v in Verdict]),
        metadata={"description": "The stamp's verdict now, as its scan page gives it."},
    )


class ScanSchema(Schema):
    """One consumer scan (the client is only known as a salted hash, not shown)."""

    scanned_at = fields.DateTime(required=True)
    province = fields.String(allow_none=True)
    geohash = fields.String(allow_none=True)
    user_agent = fields.String(required=True)


class FlagSchema(Schema):
    """A clone rule that fired for a stamp."""

    rule = fields.String(required=True)
    detail = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    review = fields.String(
        required=True,
        validate=validate.OneOf([str(r) for r in FlagReview]),
        metadata={
            "description": "The inspectors' review: open (not reviewed yet) or confirmed. "
            "Dismissed flags no longer count and are not listed."
        },
    )


class AnomalySchema(FlagSchema):
    """A flagged stamp with its lot and product."""

    serial = fields.String(required=True)
    uri = fields.String(required=True)
    lot_id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    product_id = fields.Integer(required=True)
    gtin = fields.String(required=True)
    producer_id = fields.Integer(required=True)
    scan_count = fields.Integer(required=True)
    first_scan_province = fields.String(allow_none=True)


class AnomalyQueryArgsSchema(PageQueryArgsSchema):
    """Filters of the anomaly list."""

    province = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Stamps scanned at least once in this province."},
    )
    product_id = record_id()
    gtin = fields.String(validate=validate.Regexp(r"^\d{14}$"))
    rule = fields.String(validate=validate.OneOf([str(r) for r in FlagRule]))


class LotStampSchema(Schema):
    """One of a lot's stamps."""

    serial = fields.String(required=True)
    uri = fields.String(required=True)
    status = fields.String(required=True)
    scan_count = fields.Integer(required=True)


class LabelSheetQueryArgsSchema(Schema):
    """Which label grid to print."""

    grid = fields.String(load_default="3x8", validate=validate.OneOf(sorted(GRIDS)))


class StampRunCreateSchema(Schema):
    """How many stamps to mint, and how much product each pack holds."""

    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    pack_size = decimal_string("Units per pack (default 1).", load_default="1")


class StampRunSchema(Schema):
    """A minted run of stamps."""

    run_id = fields.Integer(required=True)
    lot_id = fields.Integer(required=True)
    count = fields.Integer(required=True)
    pack_size = decimal_string(required=True)
    stamps = fields.String(required=True, metadata={"description": "URL of the lot's stamp list."})
    labels_pdf = fields.String(required=True)


ScanPageSchema = page_schema(ScanSchema, "ScanPageSchema")
FlagPageSchema = page_schema(FlagSchema, "FlagPageSchema")


class AnomalyPageSchema(page_schema(AnomalySchema, "FlagAnomalyPageSchema")):  # type: ignore[misc]
    """A page of flagged stamps, and every lot found tampered."""

    tampered_lots = tampered_lots_field()


LotStampPageSchema = page_schema(LotStampSchema, "LotStampPageSchema")

"""Schemas of the product and producer searches."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.api.fields import record_id
from trace.api.pagination import PageQueryArgsSchema, page_schema
from trace.models import CertificationScheme


class CatalogueQueryArgsSchema(PageQueryArgsSchema):
    """Search terms shared by products and producers."""

    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of the name (products: Vietnamese or English)."},
    )
    gtin = fields.String(validate=validate.Regexp(r"^\d{8,14}$"))
    district = fields.String(validate=validate.Length(min=1, max=100))
    certification = fields.String(
        validate=validate.OneOf([str(s) for s in CertificationScheme]),
        metadata={"description": "Producers holding a currently valid certificate of this scheme."},
    )


class ProductQueryArgsSchema(CatalogueQueryArgsSchema):
    """Product search."""

    producer_id = record_id()


class ProducerQueryArgsSchema(CatalogueQueryArgsSchema):
    """Producer search."""


class ProducerSchema(Schema):
    """A registered producer (farm household, cooperative or company)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    registration_number = fields.String(required=True)
    commune = fields.String(required=True)
    district = fields.String(required=True)
    province = fields.String(required=True)
    gln = fields.String(allow_none=True)
    certifications = fields.List(
        fields.String(), required=True, metadata={"description": "Valid schemes."}
    )


class ProductSchema(Schema):
    """A product with its GTIN and producer."""

    id = fields.Integer(required=True)
    gtin = fields.String(required=True)
    name_vi = fields.String(required=True)
    name_en = fields.String(required=True)
    category = fields.String(required=True)
    unit = fields.String(required=True)
    producer_id = fields.Integer(required=True)
    producer_name = fields.String(required=True)
    district = fields.String(required=True)


ProductPageSchema = page_schema(ProductSchema, "ProductPageSchema")
ProducerPageSchema = page_schema(ProducerSchema, "ProducerPageSchema")


class CertificationStandingSchema(Schema):
    """A producer's certification and how far it can be trusted."""

    id = fields.Integer(required=True)
    producer_id = fields.Integer(required=True)
    scheme = fields.String(required=True)
    number = fields.String(required=True)
    issuer = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(required=True)
    standing = fields.String(
        required=True,
        validate=validate.OneOf(["expired", "verified", "declared"]),
        metadata={"description": "`declared` until an inspector or admin verifies it."},
    )
    verified_at = fields.DateTime(allow_none=True)
    verified_by_id = fields.Integer(allow_none=True)
    producer_wide = fields.Boolean(required=True)

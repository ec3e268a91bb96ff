"""Schemas of inspections."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate


class InspectionCreateSchema(Schema):
    """An inspection result, sent as a multipart form with an optional PDF."""

    result = fields.String(required=True, validate=validate.OneOf(["pass", "fail"]))
    notes = fields.String(load_default="", validate=validate.Length(max=1000))
    place = fields.String(load_default="", validate=validate.Length(max=200))
    report = Upload(
        metadata={"description": "The inspection's own report (PDF, at most 5 MB)."},
        load_only=True,
    )

"""Schemas of inspections."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate


class InspectionCreateSchema(Schema):
    """An inspection result (multipart form)."""

    result = fields.String(required=True, validate=validate.OneOf(["pass", "fail"]))
    notes = fields.String(load_default="", validate=validate.Length(max=1000))
    place = fields.String(load_default="", validate=validate.Length(max=200))


class InspectionFilesSchema(Schema):
    """The inspection's own report, if any (PDF, at most 5 MB)."""

    report = Upload()

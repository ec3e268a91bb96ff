"""Schemas of the exports."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.api.fields import record_id


class Fsma204QueryArgsSchema(Schema):
    """Which lots to export: a lot (id or code) and/or a harvest date range."""

    lot_id = record_id()
    lot_code = fields.String(validate=validate.Length(min=1, max=20))
    harvested_from = fields.Date()
    harvested_to = fields.Date()

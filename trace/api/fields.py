"""Marshmallow fields whose OpenAPI description matches what they put on the wire."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

DECIMAL_DOC = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}


def decimal_string(description: str = "", **kwargs: Any) -> fields.Decimal:
    """An exact decimal sent as a string (``"1200.000"``), and documented as one."""
    metadata = DECIMAL_DOC | ({"description": description} if description else {})
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


#: Database ids are 32-bit: larger numbers in a path are unknown objects (404), in a
#: query invalid (422) - never a database error.
MAX_ID = 2**31 - 1


def record_id(description: str = "", **kwargs: Any) -> fields.Integer:
    """An id parameter, bounded like the database's ids."""
    metadata = {"description": description} if description else {}
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), metadata=metadata, **kwargs)

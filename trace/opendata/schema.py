"""Describe a dataset's columns once; derive its Table Schema (CSV) and JSON Schema (JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "string",
    "yearmonth": "string",
}
_FORMATS = {"date": "date"}
_PATTERNS = {"yearmonth": r"^[0-9]{4}-(0[1-9]|1[0-2])$"}


@dataclass(frozen=True)
class Column:
    """One published column.

    :param type: a Table Schema type: string, integer, number, boolean, date or yearmonth.
    :param required: ``False`` lets the value be empty (CSV) or null (JSON).
    """

    name: str
    type: str
    description: str
    required: bool = True
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None

    def constraints(self) -> dict[str, Any]:
        constraints: dict[str, Any] = {"required": self.required}
        if self.enum:
            constraints["enum"] = list(self.enum)
        if self.pattern:
            constraints["pattern"] = self.pattern
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        return constraints

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.type], "description": self.description}
        if self.type in _FORMATS:
            schema["format"] = _FORMATS[self.type]
        if self.pattern or self.type in _PATTERNS:
            schema["pattern"] = self.pattern or _PATTERNS[self.type]
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if not self.required:
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"].append(None)
        return schema


def table_schema(columns: tuple[Column, ...], primary_key: tuple[str, ...]) -> dict[str, Any]:
    """The Frictionless Table Schema of the CSV file."""
    return {
        "fields": [
            {
                "name": column.name,
                "type": column.type,
                "description": column.description,
                "constraints": column.constraints(),
            }
            for column in columns
        ],
        "primaryKey": list(primary_key),
        "missingValues": [""],
    }


def json_schema(name: str, title: str, columns: tuple[Column, ...], url: str) -> dict[str, Any]:
    """The JSON Schema of the JSON file: the dataset's metadata and an array of records."""
    record = {
        "type": "object",
        "properties": {column.name: column.json_schema() for column in columns},
        "required": [column.name for column in columns],
        "additionalProperties": False,
    }
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": url,
        "title": title,
        "type": "object",
        "properties": {
            "dataset": {"const": name},
            "licence": {"type": "string", "format": "uri"},
            "modified": {"type": ["string", "null"], "format": "date-time"},
            "items": {"type": "array", "items": record},
        },
        "required": ["dataset", "licence", "modified", "items"],
        "additionalProperties": False,
    }


def csv_value(value: Any) -> str:
    """How a value is written in the CSV files: empty for null, lower-case booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

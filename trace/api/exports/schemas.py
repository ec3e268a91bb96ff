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


class ManifestAnchorSchema(Schema):
    """The chain transaction that anchored the round's root."""

    root = fields.String(required=True)
    leaf_count = fields.Integer(required=True)
    chain_id = fields.Integer(allow_none=True)
    contract = fields.String(allow_none=True)
    tx_hash = fields.String(allow_none=True)
    block_number = fields.Integer(allow_none=True)


class ManifestSchema(Schema):
    """An export's manifest and its anchoring proof.

    To check a file: its sha256 equals `document.sha256`; keccak256 of the RFC 8785 form
    of `document` is `manifest_hash`; that leaf with `path` (an OpenZeppelin
    StandardMerkleTree proof, leaf type bytes32) leads to `anchor.root`; and the anchor
    contract on chain `anchor.chain_id` has anchored that root.
    """

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "fsma204.csv, .xlsx, epcis.query"})
    sha256 = fields.String(required=True, metadata={"description": "Of the exported bytes."})
    rows = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    document = fields.Dict(required=True, metadata={"description": "The anchored manifest."})
    manifest_hash = fields.String(required=True, metadata={"description": "0x keccak256 leaf."})
    status = fields.String(
        required=True, metadata={"description": "waiting, prepared, confirmed or failed."}
    )
    path = fields.List(fields.String(), allow_none=True, required=True)
    anchor = fields.Nested(ManifestAnchorSchema, allow_none=True, required=True)

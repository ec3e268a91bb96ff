"""EPCIS test data: the schema shipped in the package and example documents that always exist.

Our own documents (tests/standards/epcis-documents) and the event-hash inputs (vendored, MIT)
are always there; GS1's example documents are not openly licensed, so they are added only
where the organisation's shared standards folder is present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standards import EPCIS_DOCUMENTS, EPCIS_HASH, shared
from trace.epcis import DEFAULT_SCHEMA_PATH


def valid_documents() -> list[Path]:
    """EPCIS 2.0 documents the schema and the capture must accept."""
    folders = [EPCIS_DOCUMENTS, EPCIS_HASH / "examples"]
    gs1 = shared("epcis")
    if gs1 is not None:
        folders.append(gs1 / "examples")
    return sorted(p for folder in folders for p in folder.glob("*.jsonld"))


def invalid_documents() -> list[Path]:
    """Documents of ours that each break one rule of the EPCIS 2.0 JSON schema."""
    return sorted((EPCIS_DOCUMENTS / "invalid").glob("*.jsonld"))


@pytest.fixture
def schema_path() -> Path:
    """The EPCIS 2.0 JSON schema the service validates captures against (in the package)."""
    return DEFAULT_SCHEMA_PATH

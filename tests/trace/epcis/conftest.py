"""EPCIS test fixtures: the shared standards folder beside the repository, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_STANDARDS = REPO_ROOT.parent / "shared" / "standards"
SHARED_HASH_FOLDER = SHARED_STANDARDS / "epcis-hash"
SHARED_EPCIS_FOLDER = SHARED_STANDARDS / "epcis"
SCHEMA_PATH = SHARED_EPCIS_FOLDER / "schema" / "EPCIS-JSON-Schema.json"
VECTORS = Path(__file__).resolve().parent / "vectors"


@pytest.fixture
def schema_path() -> Path:
    """The EPCIS 2.0 JSON schema in the shared folder; skips when it is not there."""
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"EPCIS JSON schema not found: {SHARED_EPCIS_FOLDER} is absent")
    pytest.importorskip("jsonschema", reason="jsonschema is not installed (project dependency)")
    return SCHEMA_PATH

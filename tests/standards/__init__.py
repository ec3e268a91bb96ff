"""Standards data the tests read, vendored so that a plain clone runs every test.

Each folder says where its files come from and under what licence (``SOURCES.md``):

- ``digital-link/``: GS1 check-digit and Digital Link vectors and the AI table (Apache-2.0);
- ``epcis-hash/``: CBV 2.0 event hash vectors (MIT);
- ``fsma204/``: FSMA 204 KDE columns (ours, from public-domain regulation text);
- ``epcis-documents/``: small EPCIS 2.0 documents of ours, valid and invalid.

On the organisation's machines the master copies sit in ``../shared/standards`` beside the
repository; :func:`shared` finds them there for extra cross-checks, and tests must pass
without them. ``AGRITRACE_SHARED_STANDARDS`` points elsewhere (a path that does not exist
hides the folder, which is how to check that a fresh clone runs everything).
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DIGITAL_LINK = HERE / "digital-link"
EPCIS_HASH = HERE / "epcis-hash"
FSMA204 = HERE / "fsma204"
EPCIS_DOCUMENTS = HERE / "epcis-documents"


def shared_root() -> Path:
    """Where the organisation's shared standards folder is expected to be."""
    configured = os.environ.get("AGRITRACE_SHARED_STANDARDS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "standards"


def shared(folder: str) -> Path | None:
    """A folder of the shared standards (``"epcis"``, ``"digital-link"``...), when present."""
    path = shared_root() / folder
    return path if path.is_dir() else None

"""An inspection's report file must be a PDF by its bytes, whatever its name says."""

from __future__ import annotations

import io
from typing import Any

from tests.registry_fixtures import Farm


def test_inspection_reports_must_be_pdfs_by_their_bytes(inspector_api: Any, farm_a: Farm) -> None:
    response = inspector_api.post(
        f"/api/v1/batches/{farm_a.lot_id}/inspections",
        data={"result": "pass", "report": (io.BytesIO(b"<html>not a pdf</html>"), "r.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "The file is not a PDF document." in response.get_data(as_text=True)

"""The open scan statistics count a scan where it happened, as the dashboard does: in the
district the consumer shared, never in the district where the product was made."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.registry_fixtures import Farm
from tests.trace.dashboard.test_where_scanned import paths, scan
from trace.models import Producer

THIS_MONTH = (datetime.now(UTC) + timedelta(hours=7)).strftime("%Y-%m")  # Vietnam time


def test_open_scan_statistics_count_where_the_consumer_was_in_csv_and_json(
    client: FlaskClient, session: Session, farm_a: Farm
) -> None:
    assert session.get(Producer, farm_a.user.producer_id).district == "Huyện Châu Thành"
    first, second = paths(session, farm_a, 2)
    scan(client, first, "203.0.113.1", consent="1", geo="10.5400,106.4100")  # in Tân An
    scan(client, first, "203.0.113.2", geo="10.5400,106.4100")  # no consent: not shared
    scan(client, second, "203.0.113.3")  # nothing shared
    scan(client, second, "203.0.113.4", consent="1", province="Hà Nội")  # outside Long An
    expected = [
        (THIS_MONTH, "elsewhere", None, 1),
        (THIS_MONTH, "tan-an", "Tân An", 1),
        (THIS_MONTH, "unknown", None, 2),
    ]

    items = client.get("/open-data/scan-statistics.json").json["items"]
    published = [(i["month"], i["district"], i["district_name"], i["scans"]) for i in items]
    assert sorted(published) == expected

    text = client.get("/open-data/scan-statistics.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = [(r["month"], r["district"], r["district_name"] or None, int(r["scans"])) for r in rows]
    assert sorted(cells) == expected


def test_the_table_schema_says_the_district_is_where_scanned(client: FlaskClient) -> None:
    fields = client.get("/open-data/schemas/scan-statistics.table.json").json["fields"]
    district = next(f for f in fields if f["name"] == "district")
    assert {"tan-an", "elsewhere", "unknown"} <= set(district["constraints"]["enum"])
    assert "other" not in district["constraints"]["enum"]  # the producer-district fallback
    assert "Where the scans happened" in district["description"]
    page = client.get("/open-data/?lang=vi").get_data(as_text=True)
    assert "tính theo huyện nơi diễn ra lượt quét" in page
    english = client.get("/open-data/?lang=en").get_data(as_text=True)
    assert "counted in the district where the scan happened" in english

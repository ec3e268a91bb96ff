"""Open data: files that validate against their schemas, a harvestable catalogue, no persons."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlmodel import Session

from tests.registry_fixtures import Farm
from tests.trace.dashboard import recompute
from tests.trace.dashboard.conftest import Province
from trace.dashboard.filters import Filters
from trace.models import Product

DATASETS = ("certified-producers", "products", "certifications", "scan-statistics")
CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def fetch_json(client: FlaskClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return json.loads(response.get_data(as_text=True))


def typed(value: str, field: dict[str, Any]) -> Any:
    """A CSV cell read as its Table Schema type says (empty is missing)."""
    if value == "":
        return None
    convert = {
        "integer": int,
        "number": float,
        "boolean": lambda v: {"true": True, "false": False}[v],
    }
    return convert.get(field["type"], str)(value)


@pytest.mark.parametrize("name", DATASETS)
def test_json_and_csv_validate_against_their_published_schemas(
    province: Province, client: FlaskClient, name: str
) -> None:
    document = fetch_json(client, f"/open-data/{name}.json")
    schema = fetch_json(client, f"/open-data/schemas/{name}.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, format_checker=CHECKER)
    assert document["items"], name

    table = fetch_json(client, f"/open-data/schemas/{name}.table.json")
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/open-data/{name}.csv").get_data(as_text=True)))
    )
    fields = {field["name"]: field for field in table["fields"]}
    assert list(rows[0]) == list(fields)
    records = [{key: typed(value, fields[key]) for key, value in row.items()} for row in rows]
    record_schema = schema["properties"]["items"]["items"]
    for record in records:
        jsonschema.validate(record, record_schema, format_checker=CHECKER)
        for key, field in fields.items():
            assert field["constraints"]["required"] is False or record[key] is not None
    assert records == document["items"]


def test_no_personal_data_and_no_household_is_identifiable(
    province: Province, client: FlaskClient
) -> None:
    everything = "".join(
        client.get(f"/open-data/{name}.{fmt}").get_data(as_text=True)
        for name in DATASETS
        for fmt in ("csv", "json")
    )
    for secret in (*province.phones, *province.emails, province.household_name):
        assert secret not in everything
    assert province.household_certificate not in everything
    assert "079185001234" not in everything  # the household's registration number
    assert "Chờ Duyệt" not in everything  # producers awaiting approval are not published
    products = fetch_json(client, "/open-data/products.json")["items"]
    household = [p for p in products if p["district"] == "Bến Lức"]
    assert household and all(p["producer_id"] is None for p in household)


def test_certified_producers_are_organisations_with_a_valid_certificate(
    province: Province, client: FlaskClient
) -> None:
    producers = fetch_json(client, "/open-data/certified-producers.json")["items"]
    assert {p["kind"] for p in producers} <= {"cooperative", "company"}
    assert {p["district"] for p in producers} == {"Châu Thành", "Tân An", "Thủ Đức"}


def test_scan_statistics_equal_the_scan_log(
    province: Province, session: Session, client: FlaskClient
) -> None:
    items = fetch_json(client, "/open-data/scan-statistics.json")["items"]
    published = Counter({(i["month"], i["district"]): i["scans"] for i in items})
    months = set(Filters(None, None, 24, datetime.now(UTC)).month_keys)
    assert published == recompute.scan_statistics(session, months)


def test_catalogue_is_dcat_and_every_link_in_it_works(
    province: Province, client: FlaskClient
) -> None:
    response = client.get("/open-data/catalog.json")
    assert response.mimetype == "application/ld+json"
    catalogue = json.loads(response.get_data(as_text=True))
    assert catalogue["@type"] == "dcat:Catalog"
    assert catalogue["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    datasets = catalogue["dcat:dataset"]
    assert sorted(d["dct:identifier"] for d in datasets) == sorted(DATASETS)
    base = "https://trace.example.vn"
    for dataset in datasets:
        assert dataset["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
        assert {t["@language"] for t in dataset["dct:title"]} == {"vi", "en"}
        assert dataset["dct:modified"]["@type"] == "xsd:dateTime"
        formats = {d["dct:format"] for d in dataset["dcat:distribution"]}
        assert formats == {"CSV", "JSON"}
        for distribution in dataset["dcat:distribution"]:
            for link in (distribution["dcat:downloadURL"], distribution["dct:conformsTo"]):
                assert link["@id"].startswith(base)
                assert client.get(link["@id"].removeprefix(base)).status_code == 200


def test_open_data_page_lists_licence_update_time_and_schema(
    province: Province, client: FlaskClient
) -> None:
    html = client.get("/open-data/").get_data(as_text=True)
    for name in DATASETS:
        assert f'id="{name}"' in html
        assert f"/open-data/schemas/{name}.table.json" in html
        assert f"/open-data/{name}.csv" in html
    assert html.count('rel="license"') >= len(DATASETS)
    assert html.count("<time datetime=") == len(DATASETS)
    assert client.get("/open-data/nothing.csv").status_code == 404


def test_open_data_page_shows_the_update_time_in_vietnam_time(
    session: Session, farm_a: Farm, client: FlaskClient
) -> None:
    session.execute(update(Product).values(created_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC)))
    session.commit()
    html = client.get("/open-data/").get_data(as_text=True)
    products = html[html.index('id="products"') :]
    assert "2026-03-02 00:30 UTC+07:00" in products[: products.index("</section>")]
    assert "17:30 UTC" not in html  # the <time> element's datetime attribute stays UTC

"""The API describes itself (OpenAPI 3, docs served without a CDN) and fails in RFC 9457."""

from __future__ import annotations

from typing import Any

from flask import Flask

EXPECTED_PATHS = {
    "/api/v1/batches", "/api/v1/batches/{lot_id}", "/api/v1/batches/{lot_id}/inputs",
    "/api/v1/batches/{lot_id}/outputs", "/api/v1/batches/{lot_id}/integrity",
    "/api/v1/batches/{lot_id}/recall", "/api/v1/batches/{lot_id}/stamps",
    "/api/v1/batches/{lot_id}/stamps.pdf", "/api/v1/batches/{lot_id}/inspections",
    "/api/v1/batches/{lot_id}/report.pdf", "/api/v1/stamps/{serial}",
    "/api/v1/stamps/{serial}/proof", "/api/v1/stamps/{serial}/scans",
    "/api/v1/stamps/{serial}/flags", "/api/v1/anomalies", "/api/v1/products",
    "/api/v1/producers", "/api/v1/producers/{producer_id}", "/api/v1/epcis/capture",
    "/api/v1/epcis/events", "/api/v1/exports/fsma204.csv", "/api/v1/exports/fsma204.xlsx",
}  # fmt: skip


def test_openapi_document_lists_every_api_route(client: Any, app: Flask) -> None:
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    routes = {
        str(rule).replace("<int:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if str(rule).startswith("/api/v1/") and "path:" not in str(rule)
    }
    assert EXPECTED_PATHS <= set(spec["paths"])
    assert routes - {"/api/v1/"} <= set(spec["paths"])


def test_every_operation_documents_auth_errors_and_a_one_line_summary(client: Any) -> None:
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method} {path}"
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            problem = operation["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/Problem")


def test_docs_page_loads_swagger_ui_from_this_server(client: Any) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()


def test_unknown_api_paths_are_problems_too(client: Any) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    assert missing.json == {
        "type": "https://agritrace.example/problems/not-found",
        "title": "Not found",
        "status": 404,
        "instance": "/api/v1/no-such-thing",
    }
    wrong_method = client.delete("/api/v1/products")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]


def test_invalid_query_parameters_name_each_field(inspector_api: Any) -> None:
    response = inspector_api.get("/api/v1/batches", query_string={"per_page": 0, "gtin": "12"})
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json["errors"]} == {"#/per_page", "#/gtin"}
    assert all(e["location"] == "query" for e in response.json["errors"])


def test_problem_details_speak_vietnamese_on_request(client: Any) -> None:
    response = client.get("/api/v1/batches", headers={"Accept-Language": "vi"})
    assert response.status_code == 401 and response.json["title"] != ""


def test_lists_are_paginated(inspector_api: Any, farm_a: Any, farm_b: Any) -> None:
    page = inspector_api.get("/api/v1/batches", query_string={"per_page": 1, "page": 2}).json
    assert len(page["items"]) == 1
    assert {k: page[k] for k in ("page", "per_page", "total", "pages")} == {
        "page": 2, "per_page": 1, "total": 2, "pages": 2,
    }  # fmt: skip


def test_an_unknown_query_parameter_is_refused_not_ignored(inspector_api: Any) -> None:
    response = inspector_api.get("/api/v1/epcis/events", query_string={"EQ_readPoint": "x"})
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "#/EQ_readPoint"


def test_ids_beyond_the_database_range_are_not_found_and_not_a_crash(
    inspector_api: Any, farm_a: Any
) -> None:
    for path in ("/api/v1/batches/99999999999999999999", "/api/v1/batches/3000000000/stamps"):
        response = inspector_api.get(path)
        assert response.status_code == 404 and response.content_type == "application/problem+json"
    listed = inspector_api.get("/api/v1/batches", query_string={"producer_id": 2**63})
    assert listed.status_code == 422 and listed.json["errors"][0]["pointer"] == "#/producer_id"


def test_a_nul_character_in_a_query_parameter_is_a_422_problem(inspector_api: Any) -> None:
    response = inspector_api.get("/api/v1/epcis/events?EQ_bizStep=ship%00ping")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "NUL" in response.json["detail"]

"""Bad input, generated from /api/openapi.json: no 5xx, every response as documented.

schemathesis generates a bounded, derandomized set of requests per operation (valid and
invalid ones) and sends them with an inspector token holding every inspector scope.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.fuzzing import first_failure, operations
from tests.registry_fixtures import Farm

#: Examples per operation and mode (valid, invalid): enough to reach every parameter's bad
#: values while the whole run stays well under a minute on a small machine.
#: ``SCHEMATHESIS_EXAMPLES=200`` digs deeper by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
#: ``negative_data_rejection`` is left out everywhere: the token is always sent, so a case
#: whose only fault is a missing ``Authorization`` header (or a query key that cannot be
#: put in a URL) reaches the server valid and is rightly answered 200.
#: Operations whose valid input is narrower than OpenAPI can say, so a schema-valid request
#: may rightly be refused (with a documented 400/422): capture checks the whole GS1 EPCIS
#: JSON schema and the event semantics; an inspection's file must really be a PDF; a page
#: token is an opaque cursor only the server makes; an export needs a lot or a date range.
NARROWER_THAN_DOCUMENTED = {
    "POST /api/v1/epcis/capture",
    "POST /api/v1/batches/{lot_id}/inspections",
    "GET /api/v1/epcis/events",
    "GET /api/v1/alerts",
    "GET /api/v1/exports/fsma204.csv",
    "GET /api/v1/exports/fsma204.xlsx",
}


def failures_of(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """Run the generated cases of one operation; return what went wrong, if anything."""

    def send(case: Any) -> None:
        excluded = [negative_data_rejection]
        if operation.label in NARROWER_THAN_DOCUMENTED:
            excluded.append(positive_data_acceptance)
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return first_failure(operation, mode, EXAMPLES_PER_OPERATION, send)


def test_generated_requests_get_no_server_error_and_documented_responses(
    app: Flask, token_for: Any, inspector: Any, farm_a: Farm, farm_b: Farm, stamped: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(inspector, 'read', 'recall', 'capture')}"}
    found: list[str] = []
    ops = operations(app)
    assert len(ops) >= 20
    for operation in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found += failures_of(operation, mode, headers)
    assert not found, "\n\n".join(found)

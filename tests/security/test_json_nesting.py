"""Deeply nested JSON is refused before decoding, on every JSON entry point, and the
interpreter's recursion limit stays at a depth the C stack can hold.

Chunked bodies and real server processes: tests/security/test_hostile_server.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.trace.api.conftest import Api
from trace.request_limits import DEFAULT_MAX_DEPTH, nests_deeper_than

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "limit", "deeper"),
    [
        ("[" * 32 + "]" * 32, 32, False),
        ("[" * 33 + "]" * 33, 32, True),
        ('{"a": {"b": [1, {"c": 2}]}}', 4, False),
        ('{"a": {"b": [1, {"c": 2}]}}', 3, True),
        ('["[[[[[[[[[[", "]]]]]]]]"]', 1, False),  # brackets inside strings do not count
        ('["\\"[[[[[[[", 1]', 1, False),  # nor after an escaped quote
        ("[[]," * 40 + "1" + "]" * 40, 32, True),  # depth reached through siblings
        ("[" * 40, 32, True),  # unbalanced: the decoder would refuse it too
        (b"[" * 70_000, 32, True),
        ("[" + ",".join(["[1]"] * 10_000) + "]", 32, False),
    ],
)
def test_nests_deeper_than_counts_levels_outside_strings(
    text: str | bytes, limit: int, deeper: bool
) -> None:
    assert nests_deeper_than(text, limit) is deeper


def test_the_chain_import_leaves_a_recursion_limit_the_stack_can_hold() -> None:
    """py_ecc raises the limit to 100,000 at import; the chain package puts it back."""
    code = textwrap.dedent(
        """
        import sys, json, threading
        sys.path.insert(0, ".")
        import chain.embedded  # imports py-evm, and with it py_ecc
        print(sys.getrecursionlimit())
        def decode():
            try:
                json.loads("[" * 95_000)
            except RecursionError:
                print("RecursionError")
        thread = threading.Thread(target=decode)
        thread.start()
        thread.join()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]  # -11 (SIGSEGV) before the fix
    limit, outcome = result.stdout.split()
    assert int(limit) <= 10_000
    assert outcome == "RecursionError"


def test_chain_rpc_refuses_nested_json_as_a_parse_error(client: FlaskClient) -> None:
    body = "[" * 60_000
    response = client.post("/chain/rpc", data=body, content_type="application/json")
    assert response.status_code == 200  # JSON-RPC reports errors in the body
    assert response.get_json()["error"]["code"] == -32700


def test_capture_refuses_deep_nesting_with_a_problem(inspector_api: Api) -> None:
    depth = DEFAULT_MAX_DEPTH + 1
    body = '{"type": "EPCISDocument", "x": ' + "[" * depth + "]" * depth + "}"
    response = inspector_api.post(
        "/api/v1/epcis/capture", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "nested deeper" in response.get_data(as_text=True)


def test_a_document_within_the_bound_still_decodes(app: Flask) -> None:
    with app.test_request_context(
        "/", method="POST", data="[" * 32 + "]" * 32, content_type="application/json"
    ):
        from flask import request

        assert request.get_json() is not None


def test_max_json_depth_is_a_setting(app: Flask) -> None:
    app.config["MAX_JSON_DEPTH"] = 2
    with app.test_request_context(
        "/", method="POST", data="[[[1]]]", content_type="application/json"
    ):
        from flask import request

        assert request.get_json(silent=True) is None

"""chain.verify checks a proof bundle end to end against the embedded chain over HTTP."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode

from chain import abi, verify
from chain.canonical import document_hash
from chain.errors import InvalidProof
from chain.merkle import MerkleTree
from chain.proof import build_bundle, build_bundle_from_trees, parse_bundle
from tests.chain.anvil import free_port
from tests.chain.conftest import AnchoredLot

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, bundle: Any, *args: str) -> tuple[int, list[str]]:
    path = tmp_path / "bundle.json"
    path.write_text(bundle if isinstance(bundle, str) else json.dumps(bundle))
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        code = verify.main([str(path), *args], environ={})
    return code, out.getvalue().splitlines()


def test_valid_bundle_passes_every_check(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    code, lines = _run(tmp_path, anchored_lot.bundle, "--rpc", bridge_url)
    assert code == 0, lines
    checks = [line for line in lines if line[:1] in "✓✗"]
    assert len(checks) == 5 and all(line.startswith("✓") for line in checks)
    assert lines[-1].startswith("VALID")


def test_cli_runs_as_a_module_against_a_trusted_node_from_the_environment(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    hint = f"http://127.0.0.1:{free_port()}"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(anchored_lot.bundle | {"rpc_hint": hint}))
    done = subprocess.run(
        [sys.executable, "-m", "chain.verify", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"AGRITRACE_TRUSTED_RPC": f" {bridge_url} ,"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"the bundle suggests {hint} (a hint only: not trusted, not used)" in done.stdout
    assert f"checked against {bridge_url}" in done.stdout and "VALID" in done.stdout


def test_trusted_file_lists_nodes_tried_in_order(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    nodes = tmp_path / "nodes.txt"
    nodes.write_text(f"# our province's nodes\n{down}\n\n{bridge_url}  # the bridge\n")
    code, lines = _run(tmp_path, anchored_lot.bundle, "--trusted", str(nodes))
    assert code == 0, lines
    assert f"checked against {bridge_url} (a node you trust)" in lines


def _tampered(bundle: dict[str, Any], edit: str) -> dict[str, Any]:
    b = copy.deepcopy(bundle)
    if edit == "document field":
        b["document"]["weight_kg"] += 1
    elif edit == "swapped serial":
        b["stamp"]["serial"] = "AGT-LA-2024-00009"
    elif edit == "wrong root":
        b["anchor"]["root"] = "0x" + "ab" * 32
    elif edit == "wrong chain id":
        b["anchor"]["chain_id"] = 1
    elif edit == "truncated stamp path":
        b["stamp"]["path"] = b["stamp"]["path"][:-1]
    elif edit == "truncated lot path":
        b["lot"]["path"] = b["lot"]["path"][:-1]
    elif edit == "other transaction":
        b["anchor"]["tx_hash"] = "0x" + "cd" * 32
    elif edit == "other block":
        b["anchor"]["block_number"] += 1
    return b


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ("document field", "lot document (hash"),
        ("swapped serial", "stamp 'AGT-LA-2024-00009' with its path leads to"),
        ("wrong root", "has never anchored this root"),
        ("wrong chain id", "the bundle says chain 1"),
        ("truncated stamp path", "not to the document's stamp_root"),
        ("truncated lot path", "not to the anchored root"),
        ("other transaction", "is unknown to this chain"),
        ("other block", "the bundle says block"),
    ],
)
def test_tampered_bundle_fails_with_its_reason(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path, edit: str, reason: str
) -> None:
    code, lines = _run(tmp_path, _tampered(anchored_lot.bundle, edit), "--rpc", bridge_url)
    assert code == 1, lines
    failed = [line for line in lines if line.startswith("✗")]
    assert any(reason in line for line in failed), lines
    assert lines[-1].startswith("INVALID")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"format": "agritrace-proof-bundle", "version": 2}', "unsupported 'version' 2"),
    ],
)
def test_malformed_file_exits_2_with_one_line(
    tmp_path: Path, bridge_url: str, content: str, reason: str
) -> None:
    code, lines = _run(tmp_path, content, "--rpc", bridge_url)
    assert code == 2 and len(lines) == 1 and reason in lines[0]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b.pop("document"), "missing field 'document'"),
        (lambda b: b["anchor"].pop("tx_hash"), "missing field 'anchor.tx_hash'"),
        (lambda b: b["stamp"]["path"].append("0x12"), "'stamp.path[5]' must be 32 bytes"),
        (lambda b: b["anchor"].update(chain_id="1"), "'anchor.chain_id' must be a non-negative"),
    ],
)
def test_missing_or_mistyped_fields_exit_2(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path, edit: Any, reason: str
) -> None:
    bundle = copy.deepcopy(anchored_lot.bundle)
    edit(bundle)
    code, lines = _run(tmp_path, bundle, "--rpc", bridge_url)
    assert code == 2 and len(lines) == 1 and reason in lines[0], lines


def test_missing_bundle_or_trusted_node_file_exits_2(
    anchored_lot: AnchoredLot, tmp_path: Path
) -> None:
    assert verify.main([str(tmp_path / "nope.json"), "--rpc", "http://127.0.0.1:1"]) == 2
    code, lines = _run(
        tmp_path, anchored_lot.bundle, "--trusted", str(tmp_path / "no-such-list.txt")
    )
    assert code == 2 and "cannot read" in lines[-1]


def test_without_a_trusted_node_the_bundle_is_unverified_not_valid(
    anchored_lot: AnchoredLot, tmp_path: Path
) -> None:
    code, lines = _run(tmp_path, anchored_lot.bundle | {"rpc_hint": "http://127.0.0.1:1"})
    assert code == 1
    assert lines[0] == "the bundle suggests http://127.0.0.1:1 (a hint only: not trusted, not used)"
    assert lines[-1].startswith("unverified: no trusted node")
    assert not any(line.startswith(("VALID", "✗")) for line in lines)


def test_unreachable_node_exits_2(anchored_lot: AnchoredLot, tmp_path: Path) -> None:
    code, lines = _run(tmp_path, anchored_lot.bundle, "--rpc", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and lines[-1].startswith("cannot verify: cannot query")


def test_build_bundle_refuses_parts_that_do_not_lead_to_the_root(
    anchored_lot: AnchoredLot,
) -> None:
    parsed = parse_bundle(anchored_lot.bundle)
    with pytest.raises(InvalidProof, match="stamp"):
        build_bundle(
            anchored_lot.documents[1],
            "AGT-LA-2024-00001",
            parsed.stamp_path,
            parsed.lot_path,
            anchored_lot.round.receipt,
        )
    with pytest.raises(InvalidProof, match="lot document"):
        build_bundle(
            anchored_lot.documents[0],
            parsed.serial,
            parsed.stamp_path,
            parsed.lot_path,
            anchored_lot.round.receipt,
        )


def test_bundle_is_plain_json_with_a_version(anchored_lot: AnchoredLot) -> None:
    text = json.dumps(anchored_lot.bundle)
    again = json.loads(text)
    assert again["format"] == "agritrace-proof-bundle" and again["version"] == 1
    assert again["document"]["stamp_root"] == "0x" + anchored_lot.stamp_tree.root.hex()
    assert parse_bundle(again).tx_hash == anchored_lot.round.receipt.tx_hash


def _forged(anchored_lot: AnchoredLot, rpc_hint: str) -> dict[str, Any]:
    """A bundle for a lot that was never anchored, self-consistent offline."""
    forged = [d | {"product": "Forged durian", "weight_kg": 9999} for d in anchored_lot.documents]
    tree = MerkleTree.of([document_hash(d) for d in forged])
    receipt = dataclasses.replace(anchored_lot.round.receipt, root=tree.root, leaf_count=3)
    serial = anchored_lot.serials[7]
    return build_bundle_from_trees(
        forged[1], serial, anchored_lot.stamp_tree, tree, receipt, rpc_hint
    )


@contextmanager
def fake_node(bundle: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """A JSON-RPC server on 127.0.0.1 that vouches for any root; yields its URL and calls."""
    anchor, calls = bundle["anchor"], []
    when = anchor["block_timestamp"] or 1_700_000_000
    answers = {
        "eth_chainId": hex(anchor["chain_id"]),
        "eth_getCode": "0x6001",
        "eth_call": "0x" + encode(["uint256"] * 3, [when, anchor["block_number"], 3]).hex(),
        "eth_getTransactionReceipt": {
            "status": "0x1",
            "blockNumber": hex(anchor["block_number"]),
            "logs": [
                {
                    "address": anchor["contract"],
                    "topics": ["0x" + abi.ANCHORED_TOPIC.hex(), anchor["root"]],
                    "data": "0x" + encode(["uint256", "uint256"], [3, when]).hex(),
                }
            ],
        },
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(request["method"])
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": answers[request["method"]]}
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_forged_bundle_pointing_at_a_fake_node_is_not_reported_valid(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    with fake_node(_forged(anchored_lot, "http://placeholder")) as (fake_url, calls):
        bundle = _forged(anchored_lot, fake_url)
        # The fake node is convincing: whoever chose to trust it would be fooled.
        assert _run(tmp_path, bundle, "--rpc", fake_url)[0] == 0
        calls.clear()

        code, lines = _run(tmp_path, bundle)
        assert code == 1 and lines[-1].startswith("unverified: no trusted node"), lines
        assert calls == [], "the bundle's rpc_hint was queried"

        code, lines = _run(tmp_path, bundle, "--rpc", bridge_url)
        assert code == 1 and lines[-1].startswith("INVALID"), lines
        assert any("has never anchored this root" in line for line in lines)
        assert calls == []

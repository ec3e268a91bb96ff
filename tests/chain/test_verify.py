"""chain.verify checks a proof bundle end to end against the embedded chain over HTTP."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chain import verify
from chain.errors import InvalidProof
from chain.proof import build_bundle, parse_bundle
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
        code = verify.main([str(path), *args])
    return code, out.getvalue().splitlines()


def test_valid_bundle_passes_every_check(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    code, lines = _run(tmp_path, anchored_lot.bundle, "--rpc", bridge_url)
    assert code == 0, lines
    checks = [line for line in lines if line[:1] in "✓✗"]
    assert len(checks) == 5 and all(line.startswith("✓") for line in checks)
    assert lines[-1].startswith("VALID")


def test_cli_runs_as_a_module_and_uses_the_rpc_hint(
    anchored_lot: AnchoredLot, bridge_url: str, tmp_path: Path
) -> None:
    bundle = anchored_lot.bundle | {"rpc_hint": bridge_url}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    done = subprocess.run(
        [sys.executable, "-m", "chain.verify", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rpc_hint" in done.stdout and "VALID" in done.stdout


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


def test_missing_file_and_missing_rpc_exit_2(anchored_lot: AnchoredLot, tmp_path: Path) -> None:
    assert verify.main([str(tmp_path / "nope.json"), "--rpc", "http://127.0.0.1:1"]) == 2
    code, lines = _run(tmp_path, anchored_lot.bundle)
    assert code == 2 and "no --rpc URL" in lines[0]


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

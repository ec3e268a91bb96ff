"""Run @openzeppelin/merkle-tree through node, and (re)generate the committed vectors.

Regenerate: ``.venv/bin/python -m tests.chain.oz_reference`` (needs ``npm install``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from chain.hashing import keccak256
from chain.merkle import leaf_value_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oz_merkle.mjs")
VECTORS = Path(__file__).with_name("vectors") / "oz_merkle_bytes32.json"
OZ_PACKAGE = ROOT / "node_modules" / "@openzeppelin" / "merkle-tree"


def oz_available() -> bool:
    """True when node and the npm package are installed."""
    return shutil.which("node") is not None and OZ_PACKAGE.is_dir()


def run_oz(cases: list[list[bytes]], proofs: bool = True, timeout: float = 600) -> dict[str, Any]:
    """Return the JS library's output for each case of bytes32 values."""
    payload = {"cases": [{"values": ["0x" + v.hex() for v in c]} for c in cases], "proofs": proofs}
    done = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def vector_cases() -> list[tuple[str, list[bytes]]]:
    """The named inputs the committed vectors cover (deterministic)."""
    cases: list[tuple[str, list[bytes]]] = []
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 70):
        cases.append((f"counter-{n}", [keccak256(b"vector-%d" % i) for i in range(n)]))
    serials = [f"AGT-LA-{i:06d}" for i in range(1, 12)]
    cases.append(("stamp-serials-11", [leaf_value_for(s) for s in serials]))
    cases.append(("small-ints-3", [i.to_bytes(32, "big") for i in (1, 2, 3)]))
    cases.append(("zero-and-ones", [bytes(32), b"\xff" * 32]))
    return cases


def main() -> None:
    cases = vector_cases()
    out = run_oz([values for _, values in cases])
    doc = {
        "generator": f"@openzeppelin/merkle-tree {out['version']} via tests/chain/oz_merkle.mjs",
        "leafEncoding": ["bytes32"],
        "cases": [
            {"name": name, "values": ["0x" + v.hex() for v in values]}
            | {k: r[k] for k in ("root", "leafHashes", "proofs")}
            for (name, values), r in zip(cases, out["cases"], strict=True)
        ],
    }
    VECTORS.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {VECTORS}")


if __name__ == "__main__":
    main()

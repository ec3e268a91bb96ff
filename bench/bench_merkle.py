"""Benchmark chain.merkle against @openzeppelin/merkle-tree (node) on the same leaves.

Run from the repository root: ``.venv/bin/python -m bench.bench_merkle [--py-size N]
[--js-sizes 1000,10000] [--repeat 3]``. Prints one JSON object of medians (seconds).
The JS library is far slower (~3 min per 1,000,000 leaves), so the ratio is measured at
the JS sizes, with both implementations timed in the same run on identical leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from chain.hashing import BACKEND
from chain.merkle import MerkleTree, leaf_value_for, verify

ROOT = Path(__file__).resolve().parents[1]
OZ_SCRIPT = ROOT / "tests" / "chain" / "oz_merkle.mjs"


def _median_time(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _js_build_seconds(values: list[bytes], repeat: int) -> tuple[float, str]:
    payload = json.dumps(
        {"cases": [{"values": ["0x" + v.hex() for v in values]}] * repeat, "proofs": False}
    )
    done = subprocess.run(
        ["node", str(OZ_SCRIPT)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=3600,
    )
    out = json.loads(done.stdout)
    roots = {c["root"] for c in out["cases"]}
    if roots != {"0x" + MerkleTree.of(values).root.hex()}:
        raise SystemExit(f"JS and Python roots differ at {len(values)} leaves")
    return statistics.median(c["buildMs"] for c in out["cases"]) / 1000, out["version"]


def bench_python(size: int, repeat: int) -> dict[str, Any]:
    serials = [f"AGT-LA-{i:09d}" for i in range(size)]
    started = time.perf_counter()
    values = [leaf_value_for(s) for s in serials]
    leaf_values_s = time.perf_counter() - started
    build_s = _median_time(lambda: MerkleTree.of(values), repeat)
    tree = MerkleTree.of(values)
    started = time.perf_counter()
    tree.proof(0)
    first_proof_s = time.perf_counter() - started
    picks = random.Random(1).sample(range(size), 10_000)
    started = time.perf_counter()
    proofs = [tree.proof(i) for i in picks]
    proof_s = (time.perf_counter() - started) / len(picks)
    started = time.perf_counter()
    ok = all(verify(tree.root, values[i], p) for i, p in zip(picks, proofs, strict=True))
    verify_s = (time.perf_counter() - started) / len(picks)
    assert ok
    return {
        "leaves": size,
        "leaf_values_from_serials_s": round(leaf_values_s, 3),
        "build_s": round(build_s, 3),
        "leaves_per_s": round(size / build_s),
        "first_proof_s_(builds_index)": round(first_proof_s, 3),
        "proof_per_stamp_us": round(proof_s * 1e6, 1),
        "verify_per_stamp_us": round(verify_s * 1e6, 1),
        "proof_length": len(proofs[0]),
    }


def bench_against_js(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        values = [leaf_value_for(f"AGT-LA-{i:09d}") for i in range(size)]
        js_s, version = _js_build_seconds(values, repeat)
        py_s = _median_time(lambda v=values: MerkleTree.of(v), repeat)
        rows.append(
            {
                "leaves": size,
                "python_build_s": round(py_s, 4),
                "js_build_s": round(js_s, 4),
                "js_over_python": round(js_s / py_s, 1),
                "oz_merkle_tree_version": version,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--py-size", type=int, default=1_000_000)
    parser.add_argument("--js-sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "keccak_backend": BACKEND,
        },
        "python": bench_python(args.py_size, args.repeat),
    }
    if shutil.which("node") and (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        sizes = [int(s) for s in args.js_sizes.split(",") if s]
        result["python_vs_js_same_run"] = bench_against_js(sizes, args.repeat)
    else:
        result["python_vs_js_same_run"] = "skipped: run `npm install` for @openzeppelin/merkle-tree"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

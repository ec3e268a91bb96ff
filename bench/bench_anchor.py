"""Benchmark anchoring rounds on the embedded chain (py-evm, persisted on SQLite).

Run from the repository root: ``.venv/bin/python -m bench.bench_anchor [--lots 1000]
[--rounds 5]``. Prints one JSON object of medians: transactions and gas per round, wall
time per round, raw anchor() latency, and the gas an on-chain ``verify`` of a proof costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from web3 import Web3

from chain import abi
from chain.canonical import document_hash
from chain.embedded import EmbeddedChainClient
from chain.rounds import anchor_round, plan_round


def _documents(round_no: int, lots: int) -> list[dict[str, Any]]:
    return [
        {
            "lot": f"R{round_no}-LOT-{n:05d}",
            "gtin": "08934567000017",
            "weight_kg": 100 + n,
            "stamp_root": "0x" + os.urandom(32).hex(),
        }
        for n in range(lots)
    ]


def _one_round(client: EmbeddedChainClient, round_no: int, lots: int) -> dict[str, float]:
    docs = _documents(round_no, lots)
    nonce_before = client.w3.eth.get_transaction_count(client._account.address)
    started = time.perf_counter()
    leaves = [document_hash(d) for d in docs]
    hashed = time.perf_counter()
    result = anchor_round(client, plan_round(leaves))
    done = time.perf_counter()
    txs = client.w3.eth.get_transaction_count(client._account.address) - nonce_before
    return {
        "transactions": txs,
        "gas_used": result.receipt.gas_used,
        "hash_documents_s": hashed - started,
        "tree_anchor_and_proofs_s": done - hashed,
        "total_s": done - started,
    }


def _verify_gas(client: EmbeddedChainClient, lots: int) -> dict[str, int]:
    plan = plan_round([document_hash(d) for d in _documents(999, lots)])
    proof = plan.tree.proof(0)
    data = abi.encode_verify(plan.root, plan.tree.leaf_hash(0), proof)
    call = {
        "from": client._account.address,
        "to": Web3.to_checksum_address(client.contract_address or ""),
        "data": data,
    }
    gas = client.w3.eth.estimate_gas(call)  # type: ignore[arg-type]
    calldata_gas = sum(16 if b else 4 for b in data)
    return {
        "proof_length": len(proof),
        "verify_estimate_gas_total": int(gas),
        "verify_execution_gas": int(gas) - 21_000 - calldata_gas,
    }


def _anchor_latency(client: EmbeddedChainClient, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        root = os.urandom(32)
        started = time.perf_counter()
        client.anchor(root, 1)
        times.append(time.perf_counter() - started)
    return {
        "anchor_call_ms_median": round(statistics.median(times) * 1000, 1),
        "anchor_call_ms_p90": round(sorted(times)[int(n * 0.9)] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        client = EmbeddedChainClient(Path(tmp) / "chain")
        started = time.perf_counter()
        client.deploy_if_needed()
        deploy_s = time.perf_counter() - started
        rounds = [_one_round(client, r, args.lots) for r in range(args.rounds)]
        result = {
            "chain": "embedded (py-evm via eth-tester, SQLite WAL synchronous=FULL)",
            "lots_per_round": args.lots,
            "rounds": args.rounds,
            "first_open_and_deploy_s": round(deploy_s, 3),
            "round_medians": {
                k: round(statistics.median(r[k] for r in rounds), 4) for k in rounds[0]
            },
            **_anchor_latency(client, args.latency_samples),
            **_verify_gas(client, args.lots),
        }
        client.close()
        result["store_bytes_after_close"] = (Path(tmp) / "chain" / "chain.sqlite3").stat().st_size
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

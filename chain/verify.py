"""Check a proof bundle against a chain node you trust, with no access to the service's database.

Usage: ``python -m chain.verify BUNDLE.json [--rpc URL] [--trusted FILE]``. The node is
``--rpc`` when given, otherwise the nodes listed in ``AGRITRACE_TRUSTED_RPC``
(comma-separated URLs) and in the ``--trusted`` file (one URL a line, ``#`` comments),
tried in order. The bundle's own ``rpc_hint`` is printed, never trusted: whoever forged
a bundle could point it at a node of their own.

Exit status: 0 valid, 1 invalid (each failed check says why) or unverified (no trusted
node: ``unverified: no trusted node``), 2 unusable input (unreadable or malformed bundle
or trusted-node file, or no trusted node could be queried). Needs only the standard
library, ``rfc8785`` and ``eth_abi`` (plus a keccak): no web3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from chain import abi
from chain.errors import BundleFormatError, ChainError, ChainUnavailable
from chain.proof import Check, ProofBundle, check_paths, parse_bundle

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
#: Comma-separated JSON-RPC URLs of the nodes a verifier trusts when ``--rpc`` is not given.
TRUSTED_RPC_ENV = "AGRITRACE_TRUSTED_RPC"
UNVERIFIED = "unverified: no trusted node"


class ChainReader(Protocol):
    """The read-only chain queries verification needs."""

    def chain_id(self) -> int:
        """The node's chain id."""
        ...

    def code(self, address: str) -> bytes:
        """Deployed code at ``address`` (empty when none)."""
        ...

    def call(self, to: str, data: bytes) -> bytes:
        """Output of a read-only call at the latest block."""
        ...

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The transaction receipt as JSON-RPC returns it, None when unknown."""
        ...


class JsonRpcReader:
    """:class:`ChainReader` over plain HTTP JSON-RPC (urllib)."""

    def __init__(self, url: str, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout

    def request(self, method: str, params: list[Any]) -> Any:
        """Send one JSON-RPC request and return its result.

        Raises:
            ChainUnavailable: the node cannot be reached or answered with an error.
        """
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ChainUnavailable(f"cannot query {self.url}: {exc}") from exc
        if not isinstance(reply, dict) or "error" in reply:
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise ChainUnavailable(f"{self.url} answered {method} with an error: {error}")
        return reply.get("result")

    def chain_id(self) -> int:
        return int(self.request("eth_chainId", []), 16)

    def code(self, address: str) -> bytes:
        return abi.to_bytes(self.request("eth_getCode", [address, "latest"]))

    def call(self, to: str, data: bytes) -> bytes:
        return abi.to_bytes(
            self.request("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
        )

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = self.request("eth_getTransactionReceipt", [tx_hash])
        return result if isinstance(result, dict) else None


def check_on_chain(bundle: ProofBundle, reader: ChainReader) -> list[Check]:
    """Check that the bundle's root is anchored where and when the bundle says.

    Raises:
        ChainUnavailable: the node could not be queried.
    """
    actual = reader.chain_id()
    if actual != bundle.chain_id:
        return [
            Check(False, f"the node is chain {actual}, the bundle says chain {bundle.chain_id}")
        ]
    checks = [Check(True, f"the node is chain {actual}, as the bundle says")]
    if not reader.code(bundle.contract):
        return [*checks, Check(False, f"there is no contract at {bundle.contract} on this chain")]
    info = abi.decode_anchor_of(reader.call(bundle.contract, abi.encode_anchor_of(bundle.root)))
    return [*checks, _check_anchor(bundle, info), _check_transaction(bundle, reader)]


def _check_anchor(bundle: ProofBundle, info: abi.AnchorInfo) -> Check:
    if info.timestamp == 0:
        return Check(False, f"contract {bundle.contract} has never anchored this root")
    if info.block_number != bundle.block_number:
        return Check(
            False,
            f"the root was anchored in block {info.block_number}, "
            f"the bundle says block {bundle.block_number}",
        )
    when = datetime.fromtimestamp(info.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Check(
        True,
        f"contract {bundle.contract} anchored the root at {when} "
        f"(block {info.block_number}, {info.leaf_count} lots)",
    )


def _check_transaction(bundle: ProofBundle, reader: ChainReader) -> Check:
    receipt = reader.receipt(bundle.tx_hash)
    if receipt is None:
        return Check(False, f"transaction {bundle.tx_hash} is unknown to this chain")
    if int(str(receipt.get("status", "0x0")), 16) != 1:
        return Check(False, f"transaction {bundle.tx_hash} failed on chain")
    block = int(str(receipt.get("blockNumber", "0x0")), 16)
    if block != bundle.block_number:
        return Check(
            False, f"transaction {bundle.tx_hash} is in block {block}, not {bundle.block_number}"
        )
    for log in receipt.get("logs") or []:
        event = abi.decode_anchored_log(log)
        if event and event.root == bundle.root and event.address == bundle.contract:
            return Check(True, f"transaction {bundle.tx_hash} emitted Anchored for this root")
    return Check(False, f"transaction {bundle.tx_hash} did not emit Anchored for this root")


def load_bundle(path: str) -> ProofBundle:
    """Read and parse a bundle file.

    Raises:
        BundleFormatError: unreadable file, invalid JSON or a malformed bundle.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleFormatError(f"{path} is not valid JSON: {exc}") from exc
    return parse_bundle(data)


def trusted_nodes(
    rpc: str | None, trusted_file: str | None, environ: Mapping[str, str]
) -> list[str]:
    """The nodes to check against: ``--rpc`` alone, else the environment's and the file's.

    Raises:
        BundleFormatError: the trusted-node file cannot be read.
    """
    if rpc:
        return [rpc]
    nodes = [url.strip() for url in environ.get(TRUSTED_RPC_ENV, "").split(",")]
    if trusted_file:
        try:
            lines = Path(trusted_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleFormatError(
                f"cannot read trusted nodes from {trusted_file}: {exc}"
            ) from exc
        nodes += [line.split("#", 1)[0].strip() for line in lines]
    return list(dict.fromkeys(url for url in nodes if url))


def check_against_trusted(bundle: ProofBundle, nodes: Sequence[str]) -> tuple[str, list[Check]]:
    """Check the anchor on the first trusted node that answers for the bundle's chain.

    A node of another chain is passed over while a later one may serve; if none does,
    the first answer stands (it says which chain that node is).

    Returns:
        The node's URL and the on-chain checks.

    Raises:
        ChainUnavailable: no trusted node could be queried.
    """
    answers: list[tuple[str, list[Check]]] = []
    failures: list[str] = []
    for url in nodes:
        try:
            checks = check_on_chain(bundle, JsonRpcReader(url))
        except ChainUnavailable as exc:
            failures.append(str(exc))
            continue
        if checks[0].ok:
            return url, checks
        answers.append((url, checks))
    if answers:
        return answers[0]
    raise ChainUnavailable("; ".join(failures))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chain.verify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("bundle", help="proof bundle JSON file")
    parser.add_argument("--rpc", help="JSON-RPC URL of a node you trust (overrides the list)")
    parser.add_argument(
        "--trusted", metavar="FILE", help=f"file of trusted node URLs (adds to ${TRUSTED_RPC_ENV})"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _arguments(argv)
    try:
        bundle = load_bundle(args.bundle)
        nodes = trusted_nodes(args.rpc, args.trusted, os.environ if environ is None else environ)
        if bundle.rpc_hint and bundle.rpc_hint not in nodes:
            print(f"the bundle suggests {bundle.rpc_hint} (a hint only: not trusted, not used)")
        checks = check_paths(bundle)
        if nodes:
            url, on_chain = check_against_trusted(bundle, nodes)
            print(f"checked against {url} (a node you trust)")
            checks += on_chain
    except (BundleFormatError, ChainError) as exc:
        print(f"cannot verify: {exc}")
        return EXIT_UNUSABLE
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.message}")
    if not all(c.ok for c in checks):
        print("INVALID: see the ✗ lines above")
        return EXIT_INVALID
    if not nodes:
        print(f"{UNVERIFIED}: pass --rpc URL or set {TRUSTED_RPC_ENV} to a node you trust")
        return EXIT_INVALID
    print("VALID: this stamp is anchored on chain")
    return EXIT_VALID


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main())

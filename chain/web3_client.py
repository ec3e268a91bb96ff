"""ChainClient behaviour shared by every web3-backed transport (embedded py-evm, JSON-RPC)."""

from __future__ import annotations

import random
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxParams

from chain import abi
from chain.client import AnchorReceipt, ChainClient, check_root
from chain.deployment import DeploymentRecord, DeploymentStore
from chain.errors import (
    ChainError,
    ChainUnavailable,
    ConfirmationTimeout,
    ContractNotDeployed,
    TransactionFailed,
)
from chain.hashing import keccak256

T = TypeVar("T")

#: Gas limit for anchor(): ~47k for a new root, ~27k for a no-op; generous but bounded.
ANCHOR_GAS = 100_000
DEFAULT_PRIORITY_FEE = 10**9
CONFIRMATION_POLL = 0.5
_NONCE_RETRIES = 10
_RETRYABLE_NONCE_ERRORS = ("nonce too low", "replacement transaction underpriced")
CUSTOM_ERRORS = {
    abi.selector("NotOwner()"): "NotOwner: the signing key is not the contract owner",
    abi.selector("InvalidRoot()"): "InvalidRoot: the zero root cannot be anchored",
    abi.selector("InvalidLeafCount()"): "InvalidLeafCount: leaf count must be 1..2**128-1",
}


def create_address(sender: str, nonce: int) -> str:
    """Return the address a contract created by ``sender`` at ``nonce`` gets (CREATE)."""
    encoded = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return "0x" + keccak256(encoded)[12:].hex()


class Web3ChainClient(ChainClient):
    """Anchoring over a :class:`web3.Web3` instance with a locally held signing key.

    Subclasses provide :meth:`_connect` (the Web3 instance) and :meth:`_translate`
    (which exceptions of their transport mean "unavailable").
    """

    def __init__(self, store: DeploymentStore) -> None:
        self._store = store
        self._signer: LocalAccount | None = None
        self._lock = threading.RLock()
        self._w3: Web3 | None = None
        self._chain_id: int | None = None

    # -- transport hooks -------------------------------------------------------------

    @abstractmethod
    def _load_account_key(self) -> str:
        """Return the hex private key that signs (and owns the contract)."""

    @abstractmethod
    def _connect(self) -> Web3:
        """Return a ready Web3 instance (called once, lazily)."""

    @abstractmethod
    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Re-raise transport failures as ChainError subclasses."""
        yield

    def _priority_fee(self) -> int:
        return DEFAULT_PRIORITY_FEE

    def _anchor_gas(self, tx: dict[str, Any]) -> int:
        """Gas limit for an anchor() transaction."""
        return ANCHOR_GAS

    def _eth_call(self, to: str, data: bytes) -> bytes:
        """Run a read-only call against the latest block and return its output."""
        tx = {"to": Web3.to_checksum_address(to), "data": data}
        return bytes(self.w3.eth.call(tx))  # type: ignore[arg-type]

    @property
    def w3(self) -> Web3:
        """The underlying Web3 instance (connecting on first use)."""
        with self._lock:
            if self._w3 is None:
                self._w3 = self._connect()
            return self._w3

    def _call(self, fn: Callable[[], T]) -> T:
        with self._lock, self._translate():
            return fn()

    # -- identity --------------------------------------------------------------------

    @property
    def _account(self) -> LocalAccount:
        if self._signer is None:
            self._signer = Account.from_key(self._load_account_key())
        return self._signer

    @property
    def address(self) -> str:
        """The service key's account address (0x, lowercase)."""
        return self._account.address.lower()

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._call(lambda: int(self.w3.eth.chain_id))
        return self._chain_id

    @property
    def contract_address(self) -> str | None:
        record = self._store.load()
        return record.address if record and record.confirmed else None

    def _require_contract(self) -> str:
        address = self.contract_address
        if address is None:
            raise ContractNotDeployed(
                "the anchor contract is not deployed: call deploy_if_needed()"
            )
        return address

    # -- deployment ------------------------------------------------------------------

    def deploy_if_needed(self) -> str:
        with self._lock, self._translate():
            genesis = self._genesis_hash()
            record = self._store.load()
            if record is not None and record.genesis_hash == genesis:
                if self._is_our_contract(record.address):
                    if not record.confirmed:
                        self._store.save(record.confirm())
                    return record.address
                if record.confirmed:
                    raise ContractNotDeployed(
                        f"no anchor contract owned by {self.address} at recorded address "
                        f"{record.address} on this chain; is the node fully synced? "
                        f"(delete {self._store.path} only if the chain was really reset)"
                    )
                self._check_not_pending(record)
            return self._deploy(genesis)

    def _check_not_pending(self, record: DeploymentRecord) -> None:
        # A deployment sent before a restart may still sit in the mempool: deploying again
        # now would leave two contracts. Its nonce tells mined, pending and dropped apart.
        mined = self.w3.eth.get_transaction_count(self._account.address, "latest")
        pending = self.w3.eth.get_transaction_count(self._account.address, "pending")
        if mined <= record.nonce < pending:
            raise ChainUnavailable(
                f"the contract deployment at nonce {record.nonce} is still pending; retry later"
            )

    def _deploy(self, genesis: str) -> str:
        nonce = self.w3.eth.get_transaction_count(self._account.address, "pending")
        address = create_address(self.address, nonce)
        record = DeploymentRecord(address, self.chain_id, genesis, self.address, nonce)
        self._store.save(record)
        bytecode = abi.to_bytes(abi.load_artifact()["bytecode"])
        gas = self.w3.eth.estimate_gas({"from": self._account.address, "data": bytecode})
        tx_hash = self._send({"data": bytecode, "gas": gas * 12 // 10}, nonce=nonce)
        receipt = self._receipt(tx_hash, timeout=120)
        if receipt["status"] != 1 or not self._is_our_contract(address):
            raise TransactionFailed(f"contract deployment {tx_hash} failed")
        self._store.save(record.confirm())
        return address

    def _genesis_hash(self) -> str:
        return "0x" + bytes(self.w3.eth.get_block(0)["hash"]).hex()

    def _is_our_contract(self, address: str) -> bool:
        if not self.w3.eth.get_code(Web3.to_checksum_address(address)):
            return False
        return abi.decode_address(self._eth_call(address, abi.encode_owner())) == self.address

    # -- sending ---------------------------------------------------------------------

    def _send(self, tx: dict[str, Any], nonce: int | None = None) -> str:
        """Sign and send, refetching the pending nonce when another worker used it.

        A caller that fixes ``nonce`` (a deployment, whose address depends on it) gets
        TransactionFailed instead of a silent retry at another nonce.
        """
        for attempt in range(1 if nonce is not None else _NONCE_RETRIES):
            use = nonce if nonce is not None else self._pending_nonce()
            signed = self._account.sign_transaction(self._complete(tx, use))
            try:
                return "0x" + bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
            except Web3RPCError as exc:
                message = str(exc).lower()
                if "already known" in message:  # the very same signed bytes are pooled
                    return "0x" + bytes(signed.hash).hex()
                if not any(m in message for m in _RETRYABLE_NONCE_ERRORS):
                    raise TransactionFailed(f"node rejected the transaction: {exc}") from exc
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # de-synchronise workers
        raise TransactionFailed(f"could not get a fresh nonce after {_NONCE_RETRIES} attempts")

    def _pending_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self._account.address, "pending"))

    def _complete(self, tx: dict[str, Any], nonce: int) -> dict[str, Any]:
        full = {"chainId": self.chain_id, "nonce": nonce, "value": 0, **tx}
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:
            return full | {"gasPrice": int(self.w3.eth.gas_price)}
        tip = self._priority_fee()
        return full | {"type": 2, "maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip}

    def _receipt(self, tx_hash: str, timeout: float) -> Any:
        try:
            return self.w3.eth.wait_for_transaction_receipt(
                HexStr(tx_hash), timeout=timeout, poll_latency=0.05
            )
        except Exception as exc:
            if type(exc).__name__ == "TimeExhausted":
                raise ConfirmationTimeout(f"{tx_hash} not mined within {timeout:g} s") from exc
            raise

    # -- anchoring -------------------------------------------------------------------

    def anchor(self, root: bytes, leaf_count: int) -> AnchorReceipt:
        check_root(root, leaf_count)
        with self._lock:
            existing = self.find_anchor(root)
            if existing is not None:
                return existing
            contract = self._require_contract()
            with self._translate():
                tx: dict[str, Any] = {"to": Web3.to_checksum_address(contract)}
                tx["data"] = abi.encode_anchor(root, leaf_count)
                tx_hash = self._send(tx | {"gas": self._anchor_gas(tx)})
                receipt = self._receipt(tx_hash, timeout=120)
                if receipt["status"] != 1:
                    raise TransactionFailed(f"anchor {tx_hash} reverted: {self._why(tx, root)}")
            mine = self._receipt_for(receipt, root)
            return mine if mine is not None else self._must_find(root)

    def _must_find(self, root: bytes) -> AnchorReceipt:
        # Our no-op transaction lost a race: someone anchored the root just before us.
        found = self.find_anchor(root)
        if found is None:
            raise TransactionFailed(f"root 0x{root.hex()} is not anchored after a mined anchor()")
        return found

    def _why(self, tx: dict[str, Any], root: bytes) -> str:
        call = {"from": self._account.address, "to": tx["to"], "data": abi.encode_anchor(root, 1)}
        try:
            self.w3.eth.call(cast(TxParams, call))
        except Exception as exc:
            data = getattr(exc, "data", None) or ""
            for sel, text in CUSTOM_ERRORS.items():
                if sel.hex() in str(data) or sel.hex() in str(exc):
                    return text
            return str(exc)
        return "out of gas or a state change between send and mine"

    def _receipt_for(self, receipt: Any, root: bytes) -> AnchorReceipt | None:
        contract = self._require_contract()
        for log in receipt["logs"]:
            event = abi.decode_anchored_log(log)
            if event and event.root == root and event.address == contract:
                return AnchorReceipt(
                    root=root,
                    leaf_count=event.leaf_count,
                    tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
                    block_number=int(receipt["blockNumber"]),
                    block_timestamp=event.timestamp,
                    gas_used=int(receipt["gasUsed"]),
                    chain_id=self.chain_id,
                    contract_address=contract,
                )
        return None

    def anchor_info(self, root: bytes) -> abi.AnchorInfo:
        """Return the contract's record of ``root`` (all zero when never anchored)."""
        data = abi.encode_anchor_of(root)
        out = self._call(lambda: self._eth_call(self._require_contract(), data))
        return abi.decode_anchor_of(out)

    def anchored_at(self, root: bytes) -> int | None:
        return self.anchor_info(root).timestamp or None

    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        info = self.anchor_info(root)
        if info.timestamp == 0:
            return None
        query = {
            "address": Web3.to_checksum_address(self._require_contract()),
            "topics": ["0x" + abi.ANCHORED_TOPIC.hex(), "0x" + root.hex()],
            "fromBlock": info.block_number,
            "toBlock": info.block_number,
        }
        logs = self._call(lambda: self.w3.eth.get_logs(query))  # type: ignore[arg-type]
        if not logs:
            raise ChainUnavailable(
                f"root is anchored at block {info.block_number} but the node returned no "
                "Anchored log there (pruned or still indexing logs?)"
            )
        receipt = self._call(
            lambda: self.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
        )
        return self._receipt_for(receipt, root)

    # -- reading ---------------------------------------------------------------------

    def wait_for_confirmations(self, tx_hash: str, n: int = 1, timeout: float = 120.0) -> int:
        # The lock is taken per poll, never across a sleep: other threads keep working.
        deadline = time.monotonic() + timeout
        while True:
            receipt = self._call(lambda: self._receipt_or_none(tx_hash))
            if receipt is not None:
                if receipt["status"] != 1:
                    raise TransactionFailed(f"{tx_hash} reverted")
                block = int(receipt["blockNumber"])
                head = self._call(lambda: int(self.w3.eth.block_number))
                if head - block + 1 >= n:
                    return block
            if time.monotonic() > deadline:
                raise ConfirmationTimeout(f"{tx_hash} not {n} block(s) deep within {timeout:g} s")
            time.sleep(CONFIRMATION_POLL)

    def _receipt_or_none(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        except TransactionNotFound:
            return None

    def verify_on_chain(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        data = abi.encode_verify(root, leaf, list(proof))
        return abi.decode_bool(self._call(lambda: self._eth_call(self._require_contract(), data)))

    def is_available(self) -> bool:
        try:
            with self._lock, self._translate():
                self.w3.eth.block_number  # noqa: B018 - a cheap liveness probe
                address = self.contract_address
                return address is None or bool(
                    self.w3.eth.get_code(Web3.to_checksum_address(address))
                )
        except ChainError:
            return False

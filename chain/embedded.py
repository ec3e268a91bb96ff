"""The embedded chain: py-evm via eth-tester in-process, persisted in a directory."""

from __future__ import annotations

import fcntl
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, cast

from eth.chains.base import MiningChain
from eth.exceptions import CanonicalHeadNotFound, HeaderNotFound, PyEVMError
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth.vm.forks import PragueVM
from eth_keys import KeyAPI
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import (
    PyEVMBackend,
    get_default_account_state,
    get_default_genesis_params,
)
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionFailed as EthTesterTransactionFailed
from eth_tester.exceptions import TransactionNotFound
from eth_tester.exceptions import ValidationError as EthTesterValidationError
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import ValidationError
from web3 import EthereumTesterProvider, Web3
from web3.types import RPCEndpoint

from chain.deployment import DeploymentStore
from chain.errors import (
    ChainBusy,
    ChainError,
    ChainStoreCorrupted,
    ChainUnavailable,
    TransactionFailed,
)
from chain.sqlite_db import SqliteAtomicDB
from chain.time_limit import call_with_time_limit
from chain.web3_client import Web3ChainClient

#: py_ecc, imported by py-evm, raises the recursion limit to 100,000 at import. With it, a
#: deeply nested JSON body overflows the C stack and kills the process instead of raising
#: RecursionError; nothing in the chain needs that depth, so CPython's default comes back.
sys.setrecursionlimit(min(sys.getrecursionlimit(), 1_000))

#: web3's EthereumTesterProvider answers eth_chainId with this fixed id.
EMBEDDED_CHAIN_ID = 131277322940537
STORE_FORMAT = "agritrace-embedded-chain/1"
DB_FILE = "chain.sqlite3"
KEY_FILE = "service.key"
RECOVERY = (
    "Anchors recorded on this chain cannot be checked until it is restored: restore the "
    "whole directory {dir} from a backup (stop the service first). Only if no backup "
    "exists, move the directory aside to start a NEW chain; earlier proof bundles then "
    "stay verifiable only against the old copy, and anchored rounds must be re-anchored."
)


class _EmbeddedChain(MiningChain):
    """eth-tester's post-merge tester chain, reopened over a persistent database."""

    chain_id = EMBEDDED_CHAIN_ID
    vm_configuration = ((BlockNumber(0), PragueVM),)

    def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
        header_params["gas_limit"] = parent_header.gas_limit  # keep the gas limit constant
        return super().create_header_from_parent(parent_header, **header_params)

    def get_transaction_builder(self) -> Any:
        return self.get_vm().get_transaction_builder()


class _PersistentBackend(PyEVMBackend):  # type: ignore[misc]
    """PyEVMBackend over an already opened chain, with indexed transaction lookups."""

    def __init__(self, chain: _EmbeddedChain, key: Any) -> None:
        # PyEVMBackend.__init__ would build a fresh in-memory genesis: skip it.
        self.chain = chain
        self.account_keys = (key,)

    def send_raw_transaction(self, raw_transaction: bytes) -> Any:
        self._refresh_timestamp()
        return super().send_raw_transaction(raw_transaction)

    def _refresh_timestamp(self) -> None:
        # py-evm stamps the pending header when the previous block is mined; after an idle
        # hour that would date an anchor an hour early. Re-stamp an empty pending block.
        header = self.chain.header
        if header.gas_used == 0:
            parent = self.chain.get_canonical_head()
            now = max(parent.timestamp + 1, int(time.time()))
            if now != header.timestamp:
                self.chain.header = header.copy(timestamp=now)

    def _locate(self, tx_hash: bytes) -> tuple[Any, Any, int]:
        try:
            number, index = self.chain.chaindb.get_transaction_index(Hash32(tx_hash))
        except EvmTransactionNotFound:
            pending = self.chain.get_block()
            for i, tx in enumerate(pending.transactions):
                if tx.hash == tx_hash:
                    return pending, tx, i
            raise TransactionNotFound(f"no transaction 0x{tx_hash.hex()}") from None
        block = self.chain.get_canonical_block_by_number(number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, tx, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, tx, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, tx, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        vm = self.chain.get_vm()
        return serialize_transaction_receipt(block, receipts, tx, index, is_pending, vm)


class EmbeddedChainClient(Web3ChainClient):
    """Anchors on an in-process py-evm chain stored in ``data_dir``.

    ``data_dir`` holds ``chain.sqlite3`` (blocks and state), ``service.key`` (the key
    that owns the contract, mode 0600), ``deployment.json`` and a lock file: one process
    at a time may open it. Clients of the same directory in one process (an app factory
    run twice, say) share one open chain. Nothing is read or created before first use.
    """

    embedded = True

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        super().__init__(DeploymentStore(self.data_dir / "deployment.json"))
        self._shared = _shared_store(self.data_dir)
        # Web3ChainClient only enters it, acquires and releases it, as it would an RLock.
        self._lock = self._shared.lock  # type: ignore[assignment]

    @property
    def _db(self) -> SqliteAtomicDB | None:
        return self._shared.db

    def check_store(self, *, expect_existing: bool = False) -> None:
        """Open the store now and check that it is whole (a service's start-up check).

        Args:
            expect_existing: anchors were recorded on this chain, so a missing store is
                damage to report, not a first start.

        Raises:
            ChainStoreCorrupted: the store is missing, truncated or inconsistent; the
                message says how to recover.
            ChainUnavailable: another process holds the store, or it cannot be read.
        """
        if expect_existing and not (self.data_dir / DB_FILE).exists():
            raise self._corrupted(
                f"{self.data_dir / DB_FILE} is missing but anchors were recorded on it"
            )
        self.w3  # noqa: B018 - opening the store runs every integrity check

    def _load_account_key(self) -> str:
        self.w3  # noqa: B018 - opening the store creates or reads the key
        return _read_key(self.data_dir / KEY_FILE)

    def _connect(self) -> Web3:
        shared = self._shared
        if shared.w3 is None:
            with self._translate():
                shared.lock_file = _lock_directory(self.data_dir)
                try:
                    chain, key = self._open_chain()
                except BaseException:
                    self._release_store()
                    raise
            tester = EthereumTester(_PersistentBackend(chain, key), auto_mine_transactions=True)
            shared.w3 = Web3(EthereumTesterProvider(tester))
        shared.users += 1
        return shared.w3

    def _open_chain(self) -> tuple[_EmbeddedChain, Any]:
        db_path, key_path = self.data_dir / DB_FILE, self.data_dir / KEY_FILE
        if not db_path.exists():
            if key_path.exists():
                raise self._corrupted(f"{db_path} is missing but {key_path} exists")
            return self._create_chain(db_path, key_path)
        self._shared.db = db = SqliteAtomicDB(db_path)
        db.check_integrity()
        key = KeyAPI().PrivateKey(bytes.fromhex(_read_key(key_path)[2:]))
        return self._reopen(db, key), key

    def _create_chain(self, db_path: Path, key_path: Path) -> tuple[_EmbeddedChain, Any]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = KeyAPI().PrivateKey(secrets.token_bytes(32))
        _write_key(key_path, "0x" + key.to_bytes().hex())
        self._shared.db = db = SqliteAtomicDB(db_path)
        address = key.public_key.to_canonical_address()
        state = {Address(address): get_default_account_state()}
        chain = cast(
            _EmbeddedChain, _EmbeddedChain.from_genesis(db, get_default_genesis_params(), state)
        )
        genesis = chain.get_canonical_block_header_by_number(BlockNumber(0))
        db.set_meta("service_address", "0x" + address.hex())
        db.set_meta("genesis_hash", "0x" + genesis.hash.hex())
        db.set_meta("format", STORE_FORMAT)  # written last: marks a complete store
        return chain, key

    def _reopen(self, db: SqliteAtomicDB, key: Any) -> _EmbeddedChain:
        if db.get_meta("format") != STORE_FORMAT:
            raise self._corrupted(f"{db.path} is not a complete AgriTrace chain store")
        address = "0x" + key.public_key.to_canonical_address().hex()
        if db.get_meta("service_address") != address:
            raise self._corrupted(f"{KEY_FILE} does not belong to this chain store")
        try:
            chain = _EmbeddedChain(db)
            head = chain.get_canonical_head()
            genesis = chain.get_canonical_block_header_by_number(BlockNumber(0))
        except (CanonicalHeadNotFound, HeaderNotFound, KeyError) as exc:
            raise self._corrupted(f"the chain head cannot be read ({exc!r})") from exc
        if "0x" + genesis.hash.hex() != db.get_meta("genesis_hash"):
            raise self._corrupted("the genesis block does not match the store's record")
        if head.state_root not in db:
            raise self._corrupted(f"the state of head block {head.block_number} is missing")
        return chain

    def _corrupted(self, reason: str) -> ChainStoreCorrupted:
        return ChainStoreCorrupted(
            f"embedded chain store unusable: {reason}. " + RECOVERY.format(dir=self.data_dir)
        )

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except ChainStoreCorrupted as exc:
            if "embedded chain store unusable" in str(exc):
                raise
            raise self._corrupted(str(exc)) from exc
        except ChainError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise ChainUnavailable(f"embedded chain store {self.data_dir}: {exc}") from exc
        except (
            EthTesterValidationError,
            EthTesterTransactionFailed,
            ValidationError,
            PyEVMError,
        ) as exc:
            raise TransactionFailed(f"embedded chain rejected the transaction: {exc}") from exc

    def close(self) -> None:
        """Stop using the chain; the last client of the directory closes the store.

        Closing checkpoints the WAL and releases the directory lock.
        """
        with self._lock:
            if self._w3 is None:
                return
            self._w3 = None
            self._shared.users -= 1
            if self._shared.users == 0:
                self._release_store()

    def _release_store(self) -> None:
        shared = self._shared
        shared.w3 = None
        if shared.db is not None:
            shared.db.close()
            shared.db = None
        if shared.lock_file is not None:
            shared.lock_file.close()  # closing the descriptor drops the flock
            shared.lock_file = None

    # -- fast paths: straight to the backend, skipping web3/eth-tester formatting layers

    def _backend(self) -> _PersistentBackend:
        backend: _PersistentBackend = self.w3.provider.ethereum_tester.backend  # type: ignore[attr-defined]
        return backend

    def _eth_call(self, to: str, data: bytes) -> bytes:
        sender = bytes.fromhex(self.address[2:])
        tx = {"from": sender, "to": bytes.fromhex(to[2:]), "data": data}
        try:
            return bytes(self._backend().call(tx, "latest"))
        except EthTesterTransactionFailed as exc:
            raise TransactionFailed(f"call reverted: {exc}") from exc

    def _send(self, tx: dict[str, Any], nonce: int | None = None) -> str:
        assert self._db is not None
        try:
            with self._db.transaction():
                return super()._send(tx, nonce)
        except BaseException:
            self._reload_chain()  # the rolled-back block may still be referenced in memory
            raise

    def _reload_chain(self) -> None:
        if self._db is not None and self._w3 is not None:
            self._backend().chain = self._reopen(self._db, self._backend().account_keys[0])

    def _pending_nonce(self) -> int:
        return int(self._backend().get_nonce(bytes.fromhex(self.address[2:]), "pending"))

    # -- read-only access for the JSON-RPC bridge ----------------------------------------

    def request(
        self,
        method: str,
        params: list[Any],
        *,
        lock_wait: float | None = None,
        time_limit: float | None = None,
    ) -> Any:
        """Run one JSON-RPC method through web3's formatting; returns web3-typed data.

        Args:
            method: a JSON-RPC method name (the bridge allows only reads).
            params: its parameters.
            lock_wait: seconds to wait for the chain before giving up (``None``: no bound).
            time_limit: seconds the method may run before it is stopped (``None``: no bound).

        Raises:
            ChainBusy: the chain stayed busy (anchoring, another read) past ``lock_wait``.
            CallTimedOut: the method ran past ``time_limit``.
        """
        with self._bridge_turn(lock_wait), self._translate():
            w3 = self.w3  # opening (maybe creating) the store is never time-limited
            request = partial(w3.manager.request_blocking, RPCEndpoint(method), params)
            return call_with_time_limit(request, time_limit)

    @contextmanager
    def _bridge_turn(self, wait: float | None) -> Iterator[None]:
        # One bridge request at a time queues for the chain, behind the service's own work.
        deadline = None if wait is None else time.monotonic() + wait
        gate = self._shared.bridge_gate
        if not _acquire(gate, deadline):
            raise ChainBusy(f"chain busy: other reads queued for more than {wait:g} s")
        try:
            if not self._shared.lock.acquire_after_service(deadline):
                raise ChainBusy(f"chain busy: anchoring held it for more than {wait:g} s")
            try:
                yield
            finally:
                self._shared.lock.release()
        finally:
            gate.release()


class _ChainLock:
    """The chain's re-entrant lock, serving the service's own work before bridge reads.

    Anchoring and health checks take it with ``with``. A JSON-RPC bridge read takes it
    with :meth:`acquire_after_service`, which first lets every waiting service thread
    through: a read that releases the lock and asks again at once (the next request of a
    batch) would otherwise win it over a woken waiter time after time.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._queue = threading.Condition(threading.Lock())
        self._service_waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._queue:
            self._service_waiting += 1
        try:
            return self._lock.acquire(blocking, timeout)
        finally:
            with self._queue:
                self._service_waiting -= 1
                self._queue.notify_all()

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire_after_service(self, deadline: float | None) -> bool:
        """Take the lock once no service thread waits for it; False past ``deadline``."""
        with self._queue:
            if not self._queue.wait_for(
                lambda: self._service_waiting == 0, timeout=_seconds_left(deadline)
            ):
                return False
        return _acquire(self._lock, deadline)


@dataclass(eq=False)
class _SharedStore:
    """The open chain of one directory, shared by every client of it in this process."""

    lock: _ChainLock = field(default_factory=_ChainLock)
    #: Taken by a JSON-RPC bridge request before it queues for ``lock``.
    bridge_gate: threading.Lock = field(default_factory=threading.Lock)
    w3: Web3 | None = None
    db: SqliteAtomicDB | None = None
    lock_file: IO[str] | None = None
    users: int = 0


_REGISTRY_LOCK = threading.Lock()
_REGISTRY: dict[str, _SharedStore] = {}


def _shared_store(data_dir: Path) -> _SharedStore:
    with _REGISTRY_LOCK:
        return _REGISTRY.setdefault(os.path.abspath(data_dir), _SharedStore())


def _seconds_left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _acquire(lock: threading.Lock | threading.RLock, deadline: float | None) -> bool:
    left = _seconds_left(deadline)
    return lock.acquire() if left is None else lock.acquire(timeout=left)


def _lock_directory(data_dir: Path) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "LOCK", "a+")  # noqa: SIM115 - held for the client's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ChainUnavailable(
            f"embedded chain {data_dir} is open in another process; run one process with "
            "CHAIN_URL=embedded, or point every process at a JSON-RPC node"
        ) from None
    return handle


def _write_key(path: Path, hex_key: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(hex_key + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_key(path: Path) -> str:
    try:
        text = path.read_text().strip()
        if len(bytes.fromhex(text.removeprefix("0x"))) != 32:
            raise ValueError("not 32 bytes")
    except (OSError, ValueError) as exc:
        raise ChainStoreCorrupted(f"service key {path} is unreadable: {exc}") from exc
    return "0x" + text.removeprefix("0x")

"""The JSON-RPC chain client: any Ethereum node over HTTP, transactions signed locally."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import requests
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    Web3RPCError,
)
from web3.types import TxParams

from chain.deployment import DeploymentStore
from chain.errors import ChainError, ChainUnavailable, ConfirmationTimeout, TransactionFailed
from chain.web3_client import CUSTOM_ERRORS, DEFAULT_PRIORITY_FEE, Web3ChainClient

DEFAULT_TIMEOUT = 10.0
#: Errors of a node that does not (yet, or any more) have the state asked for: transient.
_LAGGING_NODE_ERRORS = ("header not found", "missing trie node", "blockoutofrange", "unknown block")


class RpcChainClient(Web3ChainClient):
    """Anchors through a JSON-RPC node (anvil in tests; Besu, Geth or an L2 in production).

    The key signs locally; the node never sees it. Several worker processes may share the
    key: each send takes the node's *pending* nonce and retries when another worker won
    the race ("nonce too low"). The deployed contract's address is recorded in
    ``data_dir/deployment-<chain id>.json``.
    """

    def __init__(
        self,
        url: str,
        private_key: str,
        data_dir: str | os.PathLike[str],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        try:
            self._key: str = Account.from_key(private_key).key.hex()
        except (ValueError, TypeError):
            raise ChainError("CHAIN_PRIVATE_KEY is not a valid secp256k1 private key") from None
        self.url = url
        self.timeout = timeout
        self.data_dir = Path(data_dir)
        super().__init__(DeploymentStore(self._record_path))

    def _record_path(self) -> Path:
        return self.data_dir / f"deployment-{self.chain_id}.json"

    def _load_account_key(self) -> str:
        return self._key

    def _connect(self) -> Web3:
        # No provider-level retries: a down node must surface as ChainUnavailable quickly;
        # the anchoring round has its own retry and backoff policy.
        provider = HTTPProvider(
            self.url,
            request_kwargs={"timeout": self.timeout},
            exception_retry_configuration=None,
        )
        return Web3(provider)

    def _anchor_gas(self, tx: dict[str, Any]) -> int:
        # Estimate on real networks (L2s price calldata in gas); a revert such as
        # NotOwner surfaces here, before anything is signed or paid for.
        try:
            estimate = self.w3.eth.estimate_gas(
                cast(TxParams, tx | {"from": self._account.address})
            )
        except ContractLogicError as exc:
            raise TransactionFailed(f"anchor() would revert: {_revert_text(exc)}") from exc
        return int(estimate) * 13 // 10

    def _priority_fee(self) -> int:
        try:
            return int(self.w3.eth.max_priority_fee)
        except (Web3RPCError, ValueError):
            return DEFAULT_PRIORITY_FEE

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except ChainError:
            raise
        except TimeExhausted as exc:
            raise ConfirmationTimeout(str(exc)) from exc
        except (requests.RequestException, ProviderConnectionError, RequestTimedOut) as exc:
            raise ChainUnavailable(f"JSON-RPC node {self.url} unreachable: {exc}") from exc
        except Web3RPCError as exc:
            if any(m in str(exc).lower() for m in _LAGGING_NODE_ERRORS):
                raise ChainUnavailable(f"JSON-RPC node {self.url} is lagging: {exc}") from exc
            raise TransactionFailed(f"JSON-RPC node {self.url} returned an error: {exc}") from exc


def _revert_text(exc: ContractLogicError) -> str:
    data = str(getattr(exc, "data", "") or "")
    for selector, text in CUSTOM_ERRORS.items():
        if selector.hex() in data:
            return text
    return str(exc)

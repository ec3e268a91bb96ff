"""The chain's health, checked off the request thread so ``/healthz`` never waits on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chain.client import ChainClient

#: How long a health check waits for a fresh answer before reporting the last one.
WAIT_SECONDS = 0.5
#: A check still unanswered after this long means the chain is failing, not just busy.
STALLED_AFTER = 30.0


@dataclass(frozen=True)
class _Answer:
    status: dict[str, object]
    at: float


class ChainProbe:
    """Asks the chain client whether it is usable, on a helper thread, one check at a time.

    Anchoring, or a slow read on ``/chain/rpc``, holds the embedded chain's lock, and a
    JSON-RPC node may take its whole timeout to answer. A health check waits at most
    ``wait`` seconds for the check it started; if that is still running it reports the
    last answer marked ``busy`` (an operator sees the chain busy but alive), and reports
    the chain failing once a check has gone unanswered for ``stalled_after`` seconds.
    """

    def __init__(self, client: ChainClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._clock = clock
        self._guard = threading.Lock()
        self._last: _Answer | None = None
        self._running_since: float | None = None
        self._done = threading.Event()

    def status(
        self, wait: float = WAIT_SECONDS, stalled_after: float = STALLED_AFTER
    ) -> dict[str, object]:
        """The chain's status for ``/healthz``: ``ok``, ``chain_id`` or ``error``, ``busy``.

        A status from an earlier check also says ``checked_s_ago``; while a check is
        running, ``busy_for_s`` says how long it has waited. Never raises.
        """
        fresh = self._start().wait(wait)
        with self._guard:
            last, since, now = self._last, self._running_since, self._clock()
        if last is not None and (fresh or since is None):
            return {**last.status, "busy": False}
        busy_for = now - (since if since is not None else now)
        busy: dict[str, object] = {"busy": True, "busy_for_s": round(busy_for, 1)}
        if last is None:
            return {"ok": False, **busy, "error": "the chain has not answered a check yet"}
        cached = {**last.status, **busy, "checked_s_ago": round(now - last.at, 1)}
        if busy_for >= stalled_after:
            return {**cached, "ok": False, "error": f"no answer for {busy_for:.0f} s"}
        return cached

    def _start(self) -> threading.Event:
        with self._guard:
            if self._running_since is None:
                self._running_since = self._clock()
                self._done = threading.Event()
                thread = threading.Thread(
                    target=self._check, args=(self._done,), name="chain-health", daemon=True
                )
                thread.start()
            return self._done

    def _check(self, done: threading.Event) -> None:
        status = chain_status(self.client)
        with self._guard:
            self._last = _Answer(status, self._clock())
            self._running_since = None
        done.set()


def chain_status(client: ChainClient) -> dict[str, object]:
    """Ask ``client`` directly (this may wait on the chain): ``ok`` and ``chain_id``."""
    try:
        available = client.is_available()
        return {"ok": available, "chain_id": client.chain_id if available else None}
    except Exception as error:  # a damaged store or a dead node: report, do not crash
        return {"ok": False, "error": str(error)[:200]}

"""What makes a sandbox misbehave on purpose: injected faults and per-caller rate limits."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Before the request is handled: nothing is written (a latency spike then answers normally).
LATENCY, SERVER_ERROR, DROP = "latency", "5xx", "drop"
# After the write committed: the caller cannot tell that it succeeded.
TIMEOUT_AFTER_COMMIT, DROP_AFTER_COMMIT = "timeout_after_commit", "drop_after_commit"
BEFORE = (LATENCY, SERVER_ERROR, DROP)
AFTER = (TIMEOUT_AFTER_COMMIT, DROP_AFTER_COMMIT)
KINDS = (*BEFORE, *AFTER)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Faults:
    """Faults drawn per request: a queue of forced ones first, then random rates.

    ``queue`` entries are ``{"kind": ..., "method": "POST", "path": "/api/..."}``; the
    method and path prefix are optional filters. ``rates`` maps a kind to a probability.
    """

    latency_ms: int = 0  # added to every request
    spike_ms: int = 200  # added to a request drawn for a ``latency`` fault
    hang_seconds: float = 3.0
    rates: dict[str, float] = field(default_factory=dict)
    queue: deque[dict[str, str]] = field(default_factory=deque)
    injected: dict[str, int] = field(default_factory=dict)
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply admin settings: ``latency_ms``, ``spike_ms``, ``hang_seconds``, ``rates``,
        ``next`` and ``seed``.

        :raises ValueError: an unknown fault kind (a typo must not silently inject nothing).
        """
        unknown = set(settings.get("rates", {})) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {list(KINDS)}")
        with self._lock:
            if "latency_ms" in settings:
                self.latency_ms = int(settings["latency_ms"])
            if "spike_ms" in settings:
                self.spike_ms = int(settings["spike_ms"])
            if "hang_seconds" in settings:
                self.hang_seconds = float(settings["hang_seconds"])
            if "rates" in settings:
                self.rates = {k: float(v) for k, v in settings["rates"].items()}
            if "seed" in settings:
                self._random.seed(settings["seed"])
            for entry in settings.get("next", []):
                if entry.get("kind") not in KINDS:
                    raise ValueError(f"unknown fault kind {entry.get('kind')!r}")
                self.queue.append(dict(entry))

    def draw(self, method: str, path: str) -> str | None:
        """The fault for this request, if any (after-commit faults only hit writes)."""
        with self._lock:
            kind = self._forced(method, path) or self._random_kind(method in WRITES)
            if kind is not None:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    def _forced(self, method: str, path: str) -> str | None:
        for entry in self.queue:
            if entry.get("method", method) == method and path.startswith(entry.get("path", "")):
                self.queue.remove(entry)
                return entry["kind"]
        return None

    def _random_kind(self, is_write: bool) -> str | None:
        for kind, rate in self.rates.items():
            if (kind in BEFORE or is_write) and self._random.random() < rate:
                return kind
        return None


@dataclass
class RateLimit:
    """A token bucket per caller: ``capacity`` requests at once, ``per_second`` refilled."""

    capacity: float = 40
    per_second: float = 20
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply admin settings and start every caller with a full bucket."""
        with self._lock:
            self.capacity = float(settings.get("capacity", self.capacity))
            self.per_second = float(settings.get("per_second", self.per_second))
            self._buckets.clear()

    def take(self, caller: str) -> int | None:
        """Spend one request of ``caller``; None if allowed, else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, seen = self._buckets.get(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - seen) * self.per_second)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                return None
            self._buckets[caller] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.per_second))

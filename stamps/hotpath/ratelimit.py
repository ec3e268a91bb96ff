"""Per-client scan limits at the cost of a dictionary look-up: fixed windows counted in the
worker, with shared counts leased from Redis in batches when the limit must hold across
workers (``RATELIMIT_STORAGE_URI=redis://…``).

A worker takes a client's allowance from Redis ``batch`` scans at a time (one ``INCRBY``),
spends it locally, and asks again when it runs out; a lease Redis cannot grant in full is
granted in part. Across workers a client is therefore never let past the limit, and may be
refused up to ``(workers - 1) × (batch - 1)`` scans early in a window; ``batch`` is one for
small limits (exact counting, one Redis call a scan) and grows with the limit (one call per
``limit // 20`` scans, at most 100). If Redis does not answer, the worker counts on its own
for :data:`RETRY_SECONDS` (the limit then holds per worker) rather than fail a scan.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from limits import parse

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
MAX_BATCH = 100


@dataclass
class _Window:
    """One client's allowance in the current window."""

    start: int
    used: int = 0  # counted in this worker (memory) or spent from leases (Redis)
    leased: int = 0  # granted to this worker by Redis in this window
    full: bool = False  # Redis said the window is spent


@dataclass
class ScanLimiter:
    """``limit`` scans per ``period`` seconds per client key, per worker or shared."""

    limit: int
    period: int
    redis: Any = None
    prefix: str = "agritrace"
    batch: int = 1
    _windows: dict[str, _Window] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _redis_down_until: float = 0.0

    @classmethod
    def from_config(cls, config: Any) -> ScanLimiter:
        """The limiter ``SCAN_RATE_LIMIT`` (e.g. ``"60 per minute"``) and the storage ask for."""
        item = parse(config["SCAN_RATE_LIMIT"])
        period = int(item.get_expiry())
        storage = config.get("RATELIMIT_STORAGE_URI", "memory://")
        redis = None
        if storage.startswith(("redis://", "rediss://")):
            import redis as redis_module

            redis = redis_module.Redis.from_url(
                storage, socket_timeout=0.2, socket_connect_timeout=0.2
            )
        batch = max(1, min(MAX_BATCH, item.amount // 20))
        prefix = f"{config.get('RATELIMIT_KEY_PREFIX') or 'agritrace'}/scans"
        return cls(item.amount, period, redis, prefix, batch)

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count one request of ``key``; None when allowed, else seconds until it may retry."""
        now = time.time() if now is None else now
        start = int(now) // self.period * self.period
        with self._lock:
            window = self._windows.get(key)
            if window is None or window.start != start:
                if len(self._windows) > 100_000:
                    self._forget_before(start)
                window = self._windows[key] = _Window(start)
            if self._allow(key, window, now):
                window.used += 1
                return None
        return max(1.0, start + self.period - now)

    def _allow(self, key: str, window: _Window, now: float) -> bool:
        if self.redis is None or now < self._redis_down_until:
            return window.used < self.limit
        if window.used < window.leased:
            return True
        if window.full:
            return False
        granted = self._lease(key, window, now)
        if granted is None:  # Redis is away: this worker's own count decides
            return window.used < self.limit
        window.leased += granted
        window.full = granted < self.batch
        return window.used < window.leased

    def _lease(self, key: str, window: _Window, now: float) -> int | None:
        name = f"{self.prefix}/{key}/{window.start}"
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incrby(name, self.batch)
            pipe.expire(name, self.period + 1)
            total = int(pipe.execute()[0])
        except Exception as error:  # noqa: BLE001 - a limit store outage must not fail scans
            log.warning("scan limits counted per worker: %s", error)
            self._redis_down_until = now + RETRY_SECONDS
            return None
        already = total - self.batch
        return max(0, min(self.batch, self.limit - already))

    def _forget_before(self, start: int) -> None:
        for key in [k for k, w in self._windows.items() if w.start < start]:
            del self._windows[key]

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

A client's first scan in a window is granted without asking: most consumers scan a stamp
once, and a round trip to Redis for each was ~15 % of a worker's time on the scan page.
The worker adds those first scans to Redis's counts in the background, many clients to one
call every :data:`REPORT_SECONDS`, or with the client's next lease if that comes first.
A client may therefore pass the limit by at most one scan per other worker in a window
(each worker's first grant, before its report lands).

Each window's counts are one Redis hash (a field per client) that expires with the window,
added to by one script call (:data:`ADD_SCRIPT`): a report of many clients is one command,
where an ``INCRBY`` and an ``EXPIRE`` per client cost the reporting thread ~15 µs of Python
a scan (redis-py builds each command on its own; measured 15.4 µs against 6.3 µs a scan).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from limits import parse

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
MAX_BATCH = 100
#: How often a worker adds the first scans it granted on its own to Redis's counts.
REPORT_SECONDS = 0.02
#: Adds to clients' counts in one window's hash and keeps the hash until the window ends:
#: ``KEYS[1]`` the window's hash, ``ARGV[1]`` its seconds to live, then client, amount
#: pairs; returns each client's new count, in order.
ADD_SCRIPT = """
local totals = {}
for i = 2, #ARGV, 2 do
  totals[#totals + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return totals
"""


@dataclass
class _Window:
    """One client's allowance in the current window."""

    start: int
    used: int = 0  # counted in this worker (memory) or spent from leases (Redis)
    leased: int = 0  # granted to this worker by Redis in this window
    full: bool = False  # Redis said the window is spent
    unreported: int = 0  # granted here without asking Redis, not yet in its count


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
    _unreported: dict[str, _Window] = field(default_factory=dict)
    _reporter: threading.Thread | None = None
    _reporter_pid: int = 0
    _due: threading.Condition | None = None
    _script: Any = None  # ADD_SCRIPT, registered with redis on first use

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
        if window.used == 0:  # the client's first scan here: granted, reported later
            window.leased = window.unreported = 1
            self._report_later(key, window)
            return True
        granted = self._lease(key, window, now)
        if granted is None:  # Redis is away: this worker's own count decides
            return window.used < self.limit
        window.leased += granted
        window.full = granted < self.batch
        return window.used < window.leased

    def _lease(self, key: str, window: _Window, now: float) -> int | None:
        owed, window.unreported = window.unreported, 0  # this worker's grants, not yet counted
        self._unreported.pop(key, None)
        try:
            (total,) = self._add(window.start, [(key, self.batch + owed)])
        except Exception as error:  # noqa: BLE001 - a limit store outage must not fail scans
            log.warning("scan limits counted per worker: %s", error)
            self._redis_down_until = now + RETRY_SECONDS
            return None
        already = total - self.batch
        return max(0, min(self.batch, self.limit - already))

    def _add(self, start: int, amounts: list[tuple[str, int]]) -> list[int]:
        """Add ``amounts`` (client key, scans) to the window ``start``'s counts in Redis: the
        clients' new counts."""
        if self._script is None:
            self._script = self.redis.register_script(ADD_SCRIPT)
        args: list[Any] = [self.period + 1]
        for key, n in amounts:
            args += (key, n)
        return [int(total) for total in self._script(keys=[f"{self.prefix}/{start}"], args=args)]

    def _report_later(self, key: str, window: _Window) -> None:
        """Queue the client's first scan for the reporter (called under ``_lock``)."""
        self._unreported[key] = window
        if self._reporter is None or self._reporter_pid != os.getpid():
            # A process forked after the thread started has no reporter of its own.
            self._due = threading.Condition(self._lock)
            self._reporter_pid = os.getpid()
            self._reporter = threading.Thread(
                target=self._report_forever, name="scan-limit-reporter", daemon=True
            )
            self._reporter.start()
        elif len(self._unreported) == 1 and self._due is not None:
            self._due.notify()

    def _report_forever(self) -> None:
        while True:
            with self._lock:
                assert self._due is not None
                while not self._unreported:
                    self._due.wait()
            time.sleep(REPORT_SECONDS)  # gather the first scans of this many milliseconds
            self.report()

    def report(self) -> None:
        """Add the first scans granted here to Redis's counts, in one pipeline; a client
        whose count is then past the limit is refused here until its window ends."""
        with self._lock:
            owed = [(key, w, w.unreported) for key, w in self._unreported.items() if w.unreported]
            for _key, window, _n in owed:
                window.unreported = 0
            self._unreported.clear()
        if not owed:
            return
        by_window: dict[int, list[tuple[str, _Window, int]]] = {}
        for item in owed:  # one window, but for reports that straddle its end
            by_window.setdefault(item[1].start, []).append(item)
        try:
            for start, items in by_window.items():
                totals = self._add(start, [(key, n) for key, _window, n in items])
                with self._lock:
                    for (_key, window, _n), total in zip(items, totals, strict=True):
                        window.full = window.full or total >= self.limit
        except Exception as error:  # noqa: BLE001 - a limit store outage must not fail scans
            log.warning("scan limits counted per worker: %s", error)
            self._redis_down_until = time.time() + RETRY_SECONDS

    def _forget_before(self, start: int) -> None:
        for key in [k for k, w in self._windows.items() if w.start < start]:
            del self._windows[key]

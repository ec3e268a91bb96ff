"""Bounded least-recently-used caches that a worker's requests share (lot stories, proof trees)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_value: object) -> int:
    return 1


class LruCache(Generic[K, V]):
    """The most recently used values, up to a total weight (each value weighs 1 by default).

    Safe to share between a gthread worker's threads: every dict operation holds a lock,
    while what is cached is built outside it (two threads may build the same value once).
    """

    def __init__(self, budget: int, weigh: Callable[[V], int] = _one) -> None:
        self.budget = budget
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """The total weight of the values held now."""
        return self._held

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: K, value: V) -> None:
        """Keep ``value``, forgetting the least recently used ones past the budget.

        A value heavier than the whole budget is not kept: it would push out everything
        else and then itself.
        """
        weight = self._weigh(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[1]
            if weight > self.budget:
                return
            self._entries[key] = (value, weight)
            self._held += weight
            while self._held > self.budget:
                _, (_, forgotten) = self._entries.popitem(last=False)
                self._held -= forgotten

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0

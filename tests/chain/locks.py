"""Holding a lock from another thread, as anchoring holds the chain's lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def held_by_another_thread(lock: Any) -> Iterator[None]:
    """Hold ``lock`` in a helper thread for the duration of the block (at most 10 s)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold, name="lock-holder")
    holder.start()
    assert taken.wait(10), "the helper thread never got the lock"
    try:
        yield
    finally:
        release.set()
        holder.join()

"""The embedded chain's lock lets the service's own work (anchoring, health) past bridge reads."""

from __future__ import annotations

import threading
import time

from chain.embedded import _ChainLock
from tests.chain.locks import held_by_another_thread


def _until(condition: object) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        threading.Event().wait(0.005)


def test_a_bridge_read_lets_waiting_service_work_go_first() -> None:
    lock, order = _ChainLock(), []

    def anchor() -> None:
        with lock:
            order.append("anchoring")

    lock.acquire()  # a bridge read holds the chain
    service = threading.Thread(target=anchor)
    service.start()
    _until(lambda: lock._service_waiting == 1)
    lock.release()
    assert lock.acquire_after_service(time.monotonic() + 10)  # the batch's next read
    order.append("next read")
    lock.release()
    service.join()
    assert order == ["anchoring", "next read"]


def test_a_bridge_read_gives_up_at_its_deadline_while_service_work_holds_it() -> None:
    lock = _ChainLock()
    with held_by_another_thread(lock):
        assert lock.acquire_after_service(time.monotonic() + 0.05) is False
    assert lock.acquire_after_service(time.monotonic() + 10) is True
    lock.release()

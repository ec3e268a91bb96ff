"""Worker processes for CPU-bound stamp work (label pages, Merkle trees) beside the web process."""

from __future__ import annotations

import os
import select
import threading
import time
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext

# Imported once by the fork server, so each worker starts warm.
PRELOAD = ["stamps.render.labels", "chain.merkle"]


def pool_context() -> BaseContext:
    """Workers fork from a clean server process, never from the (threaded) web process.

    Spawn where forkserver is missing (Windows). The preload list only takes effect
    before the fork server first starts. Start workers with :func:`worker_dies_with`, so
    that they (and then the fork server) end when the web process does.
    """
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def worker_dies_with(server_pid: int) -> None:
    """A pool worker's initializer: end the worker as soon as process ``server_pid`` ends.

    Pass the web process's id (``initargs=(os.getpid(),)``). ``PR_SET_PDEATHSIG`` cannot
    do this: a worker's parent is the fork server, and the fork server only exits once
    every holder of its "alive" pipe is gone, the workers included. So a worker hashing
    a million serials ran on for ~20 s after the server was killed, and the fork server
    with it. A watcher thread waits on a pidfd (Linux 5.3+) or polls twice a second.
    """
    watcher = threading.Thread(
        target=_exit_when_gone, args=(server_pid,), name="server-watch", daemon=True
    )
    watcher.start()


def _exit_when_gone(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfds here, or the server is already gone
        while _exists(pid):
            time.sleep(0.5)
    else:
        select.select([handle], [], [])  # readable once the process has ended
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

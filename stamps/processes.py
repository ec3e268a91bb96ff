"""Worker processes for CPU-bound stamp work (label pages, Merkle trees) beside the web process."""

from __future__ import annotations

from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext

# Imported once by the fork server, so each worker starts warm.
PRELOAD = ["stamps.render.labels", "chain.merkle"]


def pool_context() -> BaseContext:
    """Workers fork from a clean server process, never from the (threaded) web process.

    Spawn where forkserver is missing (Windows). The preload list only takes effect
    before the fork server first starts.
    """
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context

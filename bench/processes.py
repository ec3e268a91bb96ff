"""Children of a benchmark die with it, so a benchmark killed at its time limit leaves no
servers, workers or load behind (``bench.run`` kills a run that overstays)."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """``preexec_fn`` of a child process: the kernel sends it SIGTERM when its parent dies.

    Linux only, as the benchmarks are; elsewhere it does nothing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass

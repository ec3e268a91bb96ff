"""Children of a benchmark die with it, so a benchmark killed at its time limit leaves no
servers, workers or load behind (``bench.run`` kills a run that overstays)."""

from __future__ import annotations

import ctypes
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _find_prctl() -> Callable[..., int] | None:
    # Looked up once, here: a child between fork and exec should not load libraries.
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _find_prctl()


def die_with_parent() -> None:
    """``preexec_fn`` of a child process: the kernel sends it SIGTERM when its parent dies.

    Linux only, as the benchmarks are; elsewhere it does nothing.
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)

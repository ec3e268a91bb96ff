"""A wall-clock bound on pure-Python work in the calling thread (py-evm running a call).

py-evm interprets EVM code in Python and has no deadline of its own. Gas bounds the work
but not its wall-clock cost: a call to the BLAKE2 precompile costs 1 gas per round, so
a million gas buys ~6 s of pure-Python hashing. :func:`call_with_time_limit` stops such a call.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from chain.errors import CallTimedOut

T = TypeVar("T")


class _Expired(BaseException):
    """Raised inside the bounded thread. A BaseException, so no library's
    ``except Exception`` turns it into an ordinary failure on its way out."""


class _Alarm:
    """Raises :class:`_Expired` in one thread once rung, unless disarmed first."""

    def __init__(self, thread_id: int) -> None:
        self._thread_id = thread_id
        self._guard = threading.Lock()
        self._armed = True
        self.rang = False

    def ring(self) -> None:
        with self._guard:
            if self._armed:
                self.rang = True
                _set_async_exc(self._thread_id, _Expired)

    def disarm(self) -> None:
        with self._guard:
            if self._armed and self.rang:
                _set_async_exc(self._thread_id, None)  # withdraw it if not yet delivered
            self._armed = False


#: Seconds until an expiry a callback swallowed is raised again (:func:`_quiet_expiry`).
RING_AGAIN_SECONDS = 0.01
#: The armed alarm of each thread inside :func:`call_with_time_limit`, by thread id.
_ACTIVE: dict[int, _Alarm] = {}


def _quiet_expiry(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``sys.unraisablehook`` for expiries that a callback swallowed, else ``hook``.

    The expiry arrives between any two bytecodes of the bounded thread, also while it runs
    a weakref callback or a ``__del__``; Python reports an exception raised there ("Exception
    ignored in …") and goes on, and the call would run on unbounded. This hook runs in that
    thread, right then, and rings the alarm again from another thread a moment later (rung
    here, the expiry would land in the hook itself and be swallowed again), instead of
    reporting it.
    """

    def unraisable(info: Any) -> None:
        if info.exc_type is not _Expired:
            hook(info)
            return
        alarm = _ACTIVE.get(threading.get_ident())
        if alarm is not None:
            again = threading.Timer(RING_AGAIN_SECONDS, alarm.ring)
            again.daemon = True
            again.start()

    unraisable.quiet_expiry = True  # type: ignore[attr-defined]
    return unraisable


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    # Delivered between bytecodes of that thread, like KeyboardInterrupt; None withdraws.
    target = ctypes.py_object(exc) if exc is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


def call_with_time_limit(fn: Callable[[], T], seconds: float | None) -> T:
    """Run ``fn`` and stop it with :class:`CallTimedOut` once it has run ``seconds``.

    The interruption arrives between Python bytecodes, so it stops py-evm's interpreter
    and its pure-Python precompiles; one long C-level call (a big ``pow``) ends first.
    Use it only for work that an exception cannot leave half done: a read-only call on a
    throwaway EVM state, never a write to the chain store.

    Args:
        fn: the work, run in the calling thread.
        seconds: the bound; ``None`` runs ``fn`` unbounded.

    Returns:
        What ``fn`` returns.

    Raises:
        CallTimedOut: ``fn`` ran past the bound (even if it finished just after).
    """
    if seconds is None:
        return fn()
    if not getattr(sys.unraisablehook, "quiet_expiry", False):
        sys.unraisablehook = _quiet_expiry(sys.unraisablehook)
    thread = threading.get_ident()
    alarm = _Alarm(thread)
    timer = threading.Timer(max(seconds, 0.0), alarm.ring)
    timer.daemon = True
    outer = _ACTIVE.get(thread)
    _ACTIVE[thread] = alarm
    # The outer try spans every moment the alarm can go off, up to its disarming.
    try:
        timer.start()
        try:
            result = fn()
        finally:
            timer.cancel()
            alarm.disarm()
            if outer is None:
                _ACTIVE.pop(thread, None)
            else:
                _ACTIVE[thread] = outer
    except BaseException:
        if alarm.rang:  # _Expired itself, or whatever a library made of it
            raise CallTimedOut(_message(seconds)) from None
        raise
    if alarm.rang:
        raise CallTimedOut(_message(seconds))
    return result


def _message(seconds: float) -> str:
    return f"the call ran longer than {seconds:g} s and was stopped"

"""Ctrl-C, SIGTERM and SIGHUP: the first one stops the command; later ones wait until what it keeps is written.

The first signal raises KeyboardInterrupt where the command is: the training loop
catches it at a whole epoch and the fit command writes the model as it stands, then
exits with status 130. While that is written (``keeping``), further signals only say
so: a second Ctrl-C cannot lose what the first one kept.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

#: exit status of a command stopped by a signal (128 + SIGINT), as shells report Ctrl-C
EXIT_INTERRUPTED = 130

#: signals handled like Ctrl-C (those the platform has)
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _State:
    received = 0
    keeping = False


_state = _State()


def _handler(signum, frame) -> None:
    _state.received += 1
    if _state.received == 1 and not _state.keeping:
        raise KeyboardInterrupt
    print(f"gradfit: {signal.Signals(signum).name} received; still writing what was kept, please wait",
          file=sys.stderr, flush=True)


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt once (main thread only; elsewhere a no-op)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _handler) for sig in SIGNALS}
    _state.received, _state.keeping = 0, False
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def keeping():
    """while results are written: signals wait (they are counted, and the command still exits 130)"""
    before = _state.keeping
    _state.keeping = True
    try:
        yield
    finally:
        _state.keeping = before


def received() -> int:
    """how many stop signals arrived during this command"""
    return _state.received

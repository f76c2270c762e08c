"""Work on a second core: a function run on a thread of its own, its result taken later.

The training loop measures the full-data objective after an epoch while the next epoch's compiled steps run
(``training.train``), and the sparse full pass reads its two halves of the rows at once
(``engines.sparse_passes``). Both use ``beside``; both ask ``two_cores`` first. The statistics and residual
passes size their workers by ``cores``.
"""

from __future__ import annotations

import os
import threading
from typing import Callable


def cores() -> int:
    """the cores this process may run on"""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def two_cores() -> bool:
    """whether this process may run on more than one core"""
    return cores() > 1


def beside(fn: Callable, *args, name: str = "gradfit-beside") -> Callable[[], object]:
    """start fn(*args) on a thread of its own; returns the function that waits for its result (raising what fn
    raised). A thread a call, not a pool: a pool's thread would be missing in a forked child, and its first task
    would wait forever."""
    out: list = []

    def run():
        try:
            out.append((True, fn(*args)))
        except BaseException as error:  # handed to the waiting thread
            out.append((False, error))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def result():
        thread.join()
        ok, value = out[0]
        if not ok:
            raise value
        return value

    return result

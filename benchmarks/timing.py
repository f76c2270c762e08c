"""What the benchmarks share: the best of several runs (wall clock, or CPU time on a shared machine)."""

from __future__ import annotations

import time


def best_of(fn, repeats: int, clock=time.perf_counter) -> float:
    """the fastest of ``repeats`` runs of fn(), by wall clock (or ``clock``: time.process_time for CPU time)"""
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)

"""What the benchmarks share: the best of several wall-clock runs."""

from __future__ import annotations

import time


def best_of(fn, repeats: int) -> float:
    """the fastest of ``repeats`` wall-clock runs of fn()"""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)

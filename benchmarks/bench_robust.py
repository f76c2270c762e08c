"""The robust losses' exact answer: what a fit pays before its epochs, against what users would otherwise run.

    python benchmarks/bench_robust.py          Huber at 1,000,000 × 50, quantile at 20,000 × 10; updates RESULTS.md
    python benchmarks/bench_robust.py --smoke  seconds; the tests run it so it never rots (prints only)

A fit of a robust loss computes its exact optimum before its epochs (``gradfit.optimum.robust``): Newton on
Huber's quadratic zone, a linear program (HiGHS) for the quantile loss. Each gradfit row is a whole
``GDRegressor(loss=..., batch_size=32).fit`` with ``epochs=0`` (statistics and exact answer: the cost before
the epochs) and with ``epochs=5``, best of 2. The references: scikit-learn's SGDRegressor with the Huber loss
for 5 epochs (no exact answer), and QuantileRegressor (alpha=0, HiGHS: the exact quantile regression).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
from results import update_section
from sklearn.linear_model import QuantileRegressor, SGDRegressor
from timing import best_of  # benchmarks/ is on the path: these files run as scripts

from gradfit import GDRegressor

#: (Huber rows, columns), (quantile rows, columns)
SIZES = {"smoke": ((2_000, 5), (300, 3)), "full": ((1_000_000, 50), (20_000, 10))}
REPEATS = {"smoke": 1, "full": 2}


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """heavy-tailed noise (Student's t, 2 degrees of freedom): what robust losses are for"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + rng.standard_t(2, size=n)


def quietly(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # five epochs are not at the optimum, and need not be
        return make().fit(X, y)


def rows(size: str) -> list[tuple[str, float, str]]:
    (nh, dh), (nq, dq) = SIZES[size]
    reps = REPEATS[size]
    Xh, yh = data(nh, dh)
    Xq, yq = data(nq, dq, seed=1)

    def huber(epochs: int):
        return lambda: GDRegressor(loss="huber", batch_size=32, epochs=epochs, tol=None, seed=0)

    def quantile():
        return GDRegressor(loss="quantile", batch_size=32, epochs=0, tol=None, seed=0)

    quietly(huber(1), Xh[:100], yh[:100])  # kernels compiled or loaded
    return [
        (f"gradfit Huber, {nh:,} × {dh}: before the epochs (statistics, exact answer)",
         best_of(lambda: quietly(huber(0), Xh, yh), reps), ""),
        (f"gradfit Huber, {nh:,} × {dh}: whole fit of 5 epochs", best_of(lambda: quietly(huber(5), Xh, yh), reps), ""),
        (f"scikit-learn SGDRegressor(loss='huber', max_iter=5), {nh:,} × {dh}",
         best_of(lambda: quietly(lambda: SGDRegressor(loss="huber", max_iter=5, tol=None), Xh, yh), reps),
         "no exact answer"),
        (f"gradfit quantile, {nq:,} × {dq}: before the epochs (statistics, exact answer by HiGHS)",
         best_of(lambda: quietly(quantile, Xq, yq), reps), ""),
        (f"scikit-learn QuantileRegressor(alpha=0, solver='highs'), {nq:,} × {dq}",
         best_of(lambda: quietly(lambda: QuantileRegressor(alpha=0.0, solver="highs"), Xq, yq), reps),
         "the exact quantile regression"),
    ]


def report(size: str) -> str:
    load = os.getloadavg()
    lines = ["| what | wall time | note |", "|---|---:|---|"]
    lines += [f"| {name} | {seconds:.2f} s | {note} |" for name, seconds, note in rows(size)]
    lines += ["", f"Load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}, on {os.cpu_count()} cores; "
              f"Python {sys.version.split()[0]}."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    size = "smoke" if parser.parse_args(argv).smoke else "full"
    text = report(size)
    print(text)
    if size == "full":
        update_section("robust", text, heading="## Robust losses: the exact answer before the epochs "
                                               "(`benchmarks/bench_robust.py`)")


if __name__ == "__main__":
    main()

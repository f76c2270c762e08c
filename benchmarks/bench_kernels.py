"""Where a shuffled per-sample epoch spends its time: memory floors against the real epoch.

    python benchmarks/bench_kernels.py [n] [d] [repeats]     default 2,000,000 × 50, 5 repeats

Each line is the median of ``repeats`` runs (wall clock and CPU time of this process):
one sequential read of X, the epoch permutation, a compiled loop that only gathers the
rows and their targets in permuted order and sums them (the memory floor of an exact
shuffle; with and without software prefetch), the same loop plus a dot product and an
axpy per row (the arithmetic floor of plain SGD; with and without hinting the target
y[i]), gradfit's per-sample and batch-32 epochs (kernel call alone), and scikit-learn's
SGDRegressor for one epoch.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from numba import njit
from sklearn.linear_model import SGDRegressor
from synthetic import make_data

from gradfit.descent.losses import make_loss
from gradfit.descent.optim import average, make_optimizer
from gradfit.engines import kernels
from gradfit.engines.kernels import prefetch_lines, prefetch_row, row_addresses


@njit(cache=True, error_model="numpy")
def gather_sum(X, y, order, ahead):
    """Σ over rows in ``order`` of y_i + Σ_j x_ij, hinting row order[k + ahead] early (0: no prefetch)"""
    total, at = 0.0, row_addresses(X, y)
    for k in range(order.shape[0]):
        if ahead and k + ahead < order.shape[0]:
            prefetch_row(at, order[k + ahead])
        i = order[k]
        total += y[i]
        for j in range(X.shape[1]):
            total += X[i, j]
    return total


@njit(cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def gather_dot_axpy(X, y, order, w, step, ahead, hint_target):
    """plain SGD without anything else: per row r = x·w − y, then w −= step·r·x (y[i] hinted or not)"""
    at = row_addresses(X, y)
    for k in range(order.shape[0]):
        if k + ahead < order.shape[0]:
            if hint_target:
                prefetch_row(at, order[k + ahead])
            else:
                prefetch_lines(at[0] + order[k + ahead] * at[1], at[2])
        i = order[k]
        r = -y[i]
        for j in range(X.shape[1]):
            r += X[i, j] * w[j]
        for j in range(X.shape[1]):
            w[j] -= step * r * X[i, j]


def median_times(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of fn()"""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def gradfit_epoch(X, y, order, batch_size: int, name: str = "sgd"):
    """one kernel epoch of gradfit (mse, no preprocessing, no penalty), from zero parameters"""
    d = X.shape[1]
    opt, loss = make_optimizer(name), make_loss("mse")
    theta = np.zeros(d + 1)
    descent = kernels.Descent(theta, np.zeros((len(opt.slots), d + 1)), theta.copy(), -1, opt.hyper, 1e-3,
                              loss.params)
    kernels.run_epoch(kernels.Rows(X, y, order, True, batch_size), kernels.Fold(np.zeros(d), np.ones(d), 0.0, True),
                      kernels.Penalty(0.0, 0.0), descent, 0, opt, loss.deriv, average)


def sklearn_epoch(X, y) -> None:
    """scikit-learn's SGDRegressor, one shuffled epoch at a constant rate"""
    est = SGDRegressor(max_iter=1, learning_rate="constant", eta0=2e-3, penalty=None, tol=None, shuffle=True,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)


def cases(X, y, order) -> dict:
    """the timed lines, by name"""
    rng = np.random.default_rng([0, 0])
    w = np.zeros(X.shape[1])
    out = {
        "sequential read X.sum()": lambda: X.sum(),
        "epoch permutation (2 × n int64)": lambda: rng.permutation(len(y)),
        "gather rows in permuted order, no prefetch": lambda: gather_sum(X, y, order, 0),
    }
    for ahead in (4, 8, 16, 32):
        out[f"gather rows, prefetch {ahead} ahead"] = lambda a=ahead: gather_sum(X, y, order, a)
    for hint in (False, True):
        out[f"gather + dot + axpy, prefetch {kernels.PREFETCH_ROWS} ahead, y {'hinted' if hint else 'not hinted'}"] = (
            lambda h=hint: gather_dot_axpy(X, y, order, w, 1e-9, kernels.PREFETCH_ROWS, h))
    out["gradfit per-sample epoch (sgd, kernel only)"] = lambda: gradfit_epoch(X, y, order, 1)
    out["gradfit per-sample epoch (adam, kernel only)"] = lambda: gradfit_epoch(X, y, order, 1, "adam")
    out["gradfit batch-32 epoch (sgd, kernel only)"] = lambda: gradfit_epoch(X, y, order, 32)
    out["sklearn SGDRegressor, 1 epoch"] = lambda: sklearn_epoch(X, y)
    return out


def main(argv: list[str]) -> None:
    n, d, repeats = (int(a) for a in (argv + ["2000000", "50", "5"][len(argv):]))
    X, y = make_data(n, d)
    order = np.random.default_rng([0, 0]).permutation(n)
    with open("/proc/loadavg") as f:
        print(f"n={n:,} d={d}, median of {repeats}; load average before: {f.read().split()[:3]}")
    for name, fn in cases(X, y, order).items():
        fn()  # compile / warm up
        wall, cpu = median_times(fn, repeats)
        print(f"{name:<56} {wall * 1e3:8.1f} ms wall {cpu * 1e3:8.1f} ms cpu {wall / n * 1e9:6.1f} ns/row")
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main(sys.argv[1:])

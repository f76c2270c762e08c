"""Sparse X: gradfit's CSR epochs against scikit-learn's SGDRegressor on the same CSR matrix.

    python benchmarks/bench_sparse.py            1,000,000 × 100,000 at 0.01% density (10M nonzeros); updates RESULTS.md
    python benchmarks/bench_sparse.py --quick    100,000 × 10,000 at 0.1% (the same 10 nonzeros a row); prints only
    python benchmarks/bench_sparse.py --smoke    seconds; the tests run it so it never rots (prints only)

The data are text-like: 10 nonzeros a row on average (Poisson), columns drawn with Zipf-like
frequencies (a few words in many rows, most in few), positive tf-idf-like values, y = X·w + noise.
Both fit the same steps: per-sample SGD at a constant learning rate, rows in order (no shuffle),
no intercept and no penalty: ``SGDRegressor(loss="squared_error", penalty=None,
learning_rate="constant", eta0=lr, shuffle=False, fit_intercept=False, tol=None)`` and
``GDRegressor(loss="half_mse", lr=lr, batch_size=1, shuffle=False, fit_intercept=False,
preprocess="none", tol=None)``, so the losses at the end are equal (printed: the check that the
comparison is fair). A whole fit is one ``fit`` call of 5 epochs; a whole epoch is the marginal one,
(5 epochs − 1 epoch) / 4, in CPU time (all threads: the machine is shared) and in wall time, the best of five
rounds, each of which fits every model in turn (this VM runs faster and slower minutes). A second gradfit row
records every 5th epoch (``record_every=5``): its other epochs skip the exact full-data loss. gradfit's
whole epoch is then split: its compiled steps alone, and the full-data loss and gradient the fit records
after each epoch alone (one read of the nonzeros), on one thread as a fit runs it: on the second core, beside
the next epoch's steps (``training.train``); the rest is what the two cost together beyond the steps (the
slower of the two, their contention for memory, the loop's own work). Peak memory is tracemalloc's peak
during one 1-epoch fit (NumPy's allocations; X itself made before), against the bytes of X's nonzeros
(data + indices + indptr). The machine's load average is printed with the figures (it may be shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit
from sklearn.linear_model import SGDRegressor
from results import update_section
from timing import best_of  # benchmarks/ is on the path: these files run as scripts

from gradfit import GDRegressor
from gradfit.descent.losses import make_loss
from gradfit.descent.optim import average, make_optimizer
from gradfit.engines import kernels_sparse, sparse_passes
from gradfit.engines.kernels import Descent, Fold, Penalty

#: (rows, columns, density)
SIZES = {"smoke": (2_000, 500, 0.02), "quick": (100_000, 10_000, 0.001), "full": (1_000_000, 100_000, 0.0001)}
REPEATS = {"smoke": 1, "quick": 3, "full": 5}
LR = 0.05


def text_like(n: int, d: int, density: float, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """a CSR matrix like a bag of words (Zipf-like column frequencies, Poisson row lengths) and its targets"""
    rng = np.random.default_rng(seed)
    lengths = rng.poisson(d * density, size=n)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    popularity = 1.0 / np.arange(1, d + 1) ** 0.8
    columns = rng.choice(d, size=int(indptr[-1]), p=popularity / popularity.sum()).astype(np.int32)
    values = rng.exponential(1.0, size=columns.size) / np.sqrt(np.maximum(np.repeat(lengths, lengths), 1))
    X = sp.csr_matrix((values, columns, indptr), shape=(n, d))
    X.sum_duplicates()  # a word counted once per row, as a vectorizer gives it
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def gradfit_model(epochs: int, record_every: int = 1) -> GDRegressor:
    return GDRegressor(loss="half_mse", lr=LR, batch_size=1, shuffle=False, fit_intercept=False, preprocess="none",
                       tol=None, epochs=epochs, seed=0, record_every=record_every)


def gradfit_recorded_at_the_end(epochs: int) -> GDRegressor:
    """the exact full-data loss measured at the start and the end only (record_every=5), as SGDRegressor
    measures none"""
    return gradfit_model(epochs, record_every=5)


def sklearn_model(epochs: int) -> SGDRegressor:
    return SGDRegressor(loss="squared_error", penalty=None, learning_rate="constant", eta0=LR, shuffle=False,
                        fit_intercept=False, tol=None, max_iter=epochs)


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs are not at the optimum; SGDRegressor's max_iter warning
        return model.fit(X, y)


class Timing(NamedTuple):
    """whole 5-epoch fit (wall, CPU), whole epoch (wall, CPU: the marginal one), ½·MSE after 5 epochs"""

    fit_wall: float
    fit_cpu: float
    epoch_wall: float
    epoch_cpu: float
    loss: float


def clocks(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of one call of fn()"""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def timed(makers: dict, X, y, reps: int) -> dict[str, Timing]:
    """each maker's Timing, the best of ``reps`` rounds; each round fits every maker in turn (5 epochs, then 1),
    so that the VM's slower and faster minutes fall on all of them alike"""
    runs: dict = {(name, epochs): [] for name in makers for epochs in (5, 1)}
    for _ in range(reps):
        for name, make in makers.items():
            for epochs in (5, 1):
                runs[name, epochs].append(clocks(lambda: fit(make(epochs), X, y)))
    out = {}
    for name, make in makers.items():
        (w5, c5), (w1, c1) = ([min(t[k] for t in runs[name, e]) for k in (0, 1)] for e in (5, 1))
        model = fit(make(5), X, y)
        r = X @ model.coef_ - y
        out[name] = Timing(w5, c5, (w5 - w1) / 4, (c5 - c1) / 4, 0.5 * float(r @ r) / len(y))
    return out


@njit(fastmath={"contract"}, nogil=True, cache=True)
def plain_loop(indptr, indices, data, y, w, eta):
    """per-sample SGD on ½·(x·w − y)², rows in order, with nothing else: the floor of these steps (indexed unsigned,
    as the kernels are: with signed indices Numba adds Python's negative-index wrap to every load, 1.7× the time)"""
    for i in range(y.shape[0]):
        lo, hi = np.uint64(indptr[i]), np.uint64(indptr[i + 1])
        p = 0.0
        for k in range(lo, hi):
            p += data[k] * w[np.uint64(indices[k])]
        c = -eta * (p - y[i])
        for k in range(lo, hi):
            w[np.uint64(indices[k])] += data[k] * c


def parts(X, y, reps: int) -> dict[str, tuple[float, float]]:
    """(wall, CPU) of gradfit's compiled epoch alone (the steps) and of the recorded full-data loss and gradient
    alone on one thread (``sparse_passes.full_loss_grad``, as it runs beside the steps), on the benchmark's
    settings"""
    d, opt, loss = X.shape[1], make_optimizer("sgd"), make_loss("half_mse")
    rows = kernels_sparse.csr_rows(X, y)
    fold = Fold(np.zeros(d), np.ones(d), 0.0, False)
    theta = np.zeros(d)

    def epoch():
        theta[:] = 0.0
        descent = Descent(theta, np.zeros((1, d)), theta, -1, opt.hyper, LR, loss.params)
        kernels_sparse.run_epoch(rows, fold, Penalty(0.0, 0.0), descent, 0, opt, loss.deriv, average)

    def full_pass():
        sparse_passes.full_loss_grad(rows, kernels_sparse.UNWEIGHTED, fold, theta, loss, one_thread=True)

    def plain():
        plain_loop(X.indptr, X.indices, X.data, y, np.zeros(d), LR)

    epoch()  # θ after one epoch: where the fit measures its first pass
    plain()  # compiled
    return {name: (best_of(fn, reps + 2), best_of(fn, reps + 2, time.process_time))
            for name, fn in (("steps", epoch), ("pass", full_pass), ("plain", plain))}


def peak_bytes(make, X, y) -> int:
    """tracemalloc's peak over one 1-epoch fit"""
    tracemalloc.start()
    fit(make(1), X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def nonzero_bytes(X) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def report(size: str) -> str:
    n, d, density = SIZES[size]
    X, y = text_like(n, d, density)
    fit(gradfit_model(1), X[:100], y[:100])  # compile (or load) the kernels before timing
    load_before = os.getloadavg()
    makers = {"gradfit GDRegressor (numpy engine, CSR kernels)": gradfit_model,
              "gradfit, record_every=5 (exact loss at the start and the end only)": gradfit_recorded_at_the_end,
              "scikit-learn SGDRegressor": sklearn_model}
    timings = timed(makers, X, y, REPEATS[size])
    rows = [(name, timings[name], peak_bytes(make, X, y)) for name, make in makers.items()]
    split = parts(X, y, REPEATS[size])
    load_after = os.getloadavg()
    nz = nonzero_bytes(X)
    ours, rare, theirs = rows[0][1], rows[1][1], rows[2][1]
    lines = [f"{n:,} × {d:,} CSR at {density:.2%} density: {X.nnz:,} nonzeros ({nz / 2**20:.0f} MiB with indices); "
             f"dense it would be {n * d * 8 / 2**30:,.0f} GiB. Per-sample SGD, lr={LR}, no shuffle, no intercept.",
             "",
             "| | whole fit of 5 epochs (wall) | (CPU) | whole epoch (wall) | (CPU) | ½·MSE after 5 epochs "
             "| peak memory of a fit (× nonzeros) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, t, peak in rows:
        lines.append(f"| {name} | {t.fit_wall:.2f} s | {t.fit_cpu:.2f} s | {t.epoch_wall:.3f} s | {t.epoch_cpu:.3f} s "
                     f"| {t.loss:.6g} | {peak / 2**20:.0f} MiB ({peak / nz:.2f}×) |")
    (steps_wall, steps_cpu), (pass_wall, pass_cpu), (plain_wall, plain_cpu) = (split[k] for k in ("steps", "pass",
                                                                                                 "plain"))
    lines += [f"| gradfit: its compiled steps alone | | | {steps_wall:.3f} s | {steps_cpu:.3f} s | | |",
              f"| the floor: a plain Numba loop of the same steps (no preprocessing, no bookkeeping) | | | "
              f"{plain_wall:.3f} s | {plain_cpu:.3f} s | | |",
              f"| gradfit: the recorded full-data loss and gradient alone, one thread (runs beside the next epoch's "
              f"steps) | | | {pass_wall:.3f} s | {pass_cpu:.3f} s | | |",
              f"| gradfit: beyond the steps (whole − steps: the pass where it is the slower, contention, the loop) | | | "
              f"{ours.epoch_wall - steps_wall:.3f} s | {ours.epoch_cpu - steps_cpu:.3f} s | | |",
              "", f"Per epoch, scikit-learn's whole epoch takes {theirs.epoch_wall / steps_wall:.2f}× the wall time of "
              f"gradfit's steps and {theirs.epoch_wall / ours.epoch_wall:.2f}× that of gradfit's whole epoch "
              f"({theirs.epoch_cpu / ours.epoch_cpu:.2f}× its CPU time). gradfit's epoch also reads the data once "
              "more for the exact full-data loss and gradient it records, on the second core while the next epoch's "
              "steps run (SGDRegressor records a running sum of the per-step losses). Recording every 5th epoch, "
              "whose other epochs skip that pass, scikit-learn's whole epoch takes "
              f"{theirs.epoch_wall / rare.epoch_wall:.2f}× the wall time of gradfit's "
              f"({theirs.epoch_cpu / rare.epoch_cpu:.2f}× its CPU time). Load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}, after "
              f"{', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores (shared: CPU times are the "
              f"steadier figures); Python {sys.version.split()[0]}."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_true")
    group.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    text = report(size)
    print(text)
    if size == "full":
        update_section("sparse", text, heading="## Sparse X: CSR epochs against SGDRegressor")


if __name__ == "__main__":
    main()

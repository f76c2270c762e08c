"""Whole fits and commands as users run them, each beside its reference, with the per-epoch figures.

    python benchmarks/whole_fits.py             n = 1,000,000 × d = 50 float64 (400 MB); updates RESULTS.md
    python benchmarks/whole_fits.py --smoke     seconds; the tests run it so it never rots (writes nothing)

A "whole fit" is one ``GDRegressor(...).fit(X, y)`` call: validation, the statistics pass, the exact
answer, every epoch, the history. An epoch is the marginal one: (fit of 5 epochs − fit of 1) / 4. The
fixed cost of a fit is the 1-epoch fit minus that epoch. Times are the best of a few repeats; the
machine's load average is printed with them (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import SGDRegressor
from synthetic import make_data
from results import update_section
from timing import best_of  # benchmarks/ is on the path: these files run as scripts

from gradfit import GDRegressor

SIZES = {"smoke": (2_000, 5), "full": (1_000_000, 50)}
REPEATS = {"smoke": 1, "full": 5}



def whole_and_marginal(run, reps: int) -> tuple[float, float, float]:
    """(a fit of 5 epochs, one epoch as the difference of 5 and 1 over 4, the cost before the epochs); the fits of
    1 and 5 epochs alternate, so a slower minute of the VM falls on both, and each is the best of ``reps``"""
    ones, fives = [], []
    for _ in range(reps):
        ones.append(best_of(lambda: run(1), 1))
        fives.append(best_of(lambda: run(5), 1))
    one, five = min(ones), min(fives)
    epoch = (five - one) / 4
    return five, epoch, one - epoch


def mse(coef, intercept, X, y) -> float:
    return float(np.mean((X @ coef + intercept - y) ** 2))


def gradfit_fits(X, y, reps: int, **settings) -> tuple[float, float, float, float]:
    """(whole 5-epoch fit, marginal epoch, fixed cost, final MSE) of GDRegressor with these settings"""
    def run(epochs):
        model = GDRegressor(epochs=epochs, tol=None, seed=0, **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X, y)

    five, epoch, fixed = whole_and_marginal(run, reps)
    model = run(5)
    return five, epoch, fixed, mse(model.coef_, model.intercept_, X, y)


def sklearn_fits(X, y, reps: int) -> tuple[float, float, float]:
    """(whole fit with max_iter=5, marginal epoch, final MSE) of scikit-learn's SGDRegressor (its defaults)"""
    def run(epochs):
        est = SGDRegressor(max_iter=epochs, tol=None, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X, y)

    five, epoch, _ = whole_and_marginal(run, reps)
    est = run(5)
    return five, epoch, mse(est.coef_, est.intercept_, X, y)


def command_seconds(args: list[str], reps: int) -> float:
    """best wall time of a fresh interpreter running ``args``"""
    return best_of(lambda: subprocess.run(args, check=True, capture_output=True), reps)


def startup_rows(reps: int) -> list[tuple]:
    py = sys.executable
    numpy_s = command_seconds([py, "-c", "import numpy"], reps)
    help_s = command_seconds([py, "-m", "gradfit.cli", "--help"], reps)
    with tempfile.TemporaryDirectory() as where:
        X, y = make_data(200, 3)
        data = Path(where) / "d.csv"
        np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
        model = Path(where) / "m.json"
        subprocess.run([py, "-m", "gradfit.cli", "fit", str(data), "-t", "y", "-o", str(model), "-q"], check=True)
        predict_s = command_seconds([py, "-m", "gradfit.cli", "predict", str(model), str(data)], reps)
    return [
        ("`gradfit --help` start-up", help_s, numpy_s, "`python -c \"import numpy\"`", "≤ 0.4 s", ""),
        ("`gradfit predict` (200 rows)", predict_s, numpy_s, "`python -c \"import numpy\"`", "", ""),
    ]


def fit_rows(X, y, reps: int) -> list[tuple]:
    read = best_of(lambda: X.sum(), reps)
    ps_fit, ps_epoch, ps_fixed, ps_mse = gradfit_fits(X, y, reps, batch_size=1, lr=1e-4, schedule="constant")
    sk_fit, sk_epoch, sk_mse = sklearn_fits(X, y, reps)
    mb_fit, mb_epoch, mb_fixed, _ = gradfit_fits(X, y, reps, batch_size=32)
    losses = f"final MSE: gradfit {ps_mse:.5g}, sklearn {sk_mse:.5g}"
    return [
        ("per-sample SGD, whole fit of 5 epochs", ps_fit, sk_fit, "sklearn SGDRegressor(max_iter=5)", "≥ 4×", losses),
        ("per-sample SGD, marginal epoch", ps_epoch, sk_epoch, "sklearn SGDRegressor, marginal epoch", "", ""),
        ("minibatch-32, whole fit of 5 epochs", mb_fit, read, "one read of X (`X.sum()`)", "", ""),
        ("minibatch-32, marginal epoch", mb_epoch, read, "one read of X (`X.sum()`)", "≤ 2.5 reads", ""),
        ("fixed cost of a fit (minibatch-32)", mb_fixed, read, "one read of X (`X.sum()`)", "≤ 3 reads",
         f"per-sample fit: {ps_fixed / read:.1f} reads"),
        *float32_rows(X, y, reps, mb_fit, mb_epoch),
        dataframe_row(X, y, reps, mb_fit),
    ]


def float32_rows(X, y, reps: int, fit64: float, epoch64: float) -> list[tuple]:
    """float32 all the way: the minibatch-32 fit and epoch on float32 data, against float64 and a float32 read"""
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    read32 = best_of(lambda: X32.sum(), reps)
    fit32, epoch32, _, _ = gradfit_fits(X32, y32, reps, batch_size=32, dtype="float32")
    return [
        ("minibatch-32 float32, whole fit of 5 epochs", fit32, fit64, "the same fit in float64", "", ""),
        ("minibatch-32 float32, marginal epoch", epoch32, epoch64, "the float64 marginal epoch", "",
         f"{epoch32 / read32:.2f} reads of float32 X ({fmt(read32)})"),
    ]


def dataframe_row(X, y, reps: int, fit_array: float) -> tuple:
    """the minibatch-32 fit from a DataFrame (an F-order view, copied to rows once) against the array's"""
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    fit_frame, _, _, _ = gradfit_fits(frame, y, reps, batch_size=32)
    return ("minibatch-32 from a DataFrame, whole fit of 5 epochs", fit_frame, fit_array, "the same fit from the array",
            "", "the row-major copy of X, written by the statistics pass's read")


def first_fit_row() -> tuple:
    """the first minibatch fit of a fresh install (empty Numba cache), against the next one (cache filled)"""
    from run import first_fit_seconds

    first, said = first_fit_seconds(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        subprocess.run([sys.executable, "-m", "gradfit.engines.jit_cache"], check=True, env=env, capture_output=True)
        code = ("import time; t = time.perf_counter(); import numpy as np; from gradfit import GDRegressor; "
                "X = np.random.default_rng(0).normal(size=(200, 3)); "
                "GDRegressor(batch_size=8, epochs=1, tol=None).fit(X, X.sum(axis=1)); print(time.perf_counter() - t)")
        warm = best_of(lambda: subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, env=env,
                                              capture_output=True), 3)
    messages = said.count("gradfit: compiling")
    return ("first minibatch fit, empty Numba cache (fresh install)", first, warm,
            "the same fit after `make venv` (cache filled)", "≤ 5 s with a message, or cached at install",
            f"{messages} messages on stderr before compiling; `make venv` fills the cache")


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(rows: list[tuple], n: int, d: int, load_before, load_after) -> str:
    lines = [f"n = {n:,} × d = {d}, float64 ({n * d * 8 / 1e6:.0f} MB); "
             f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
             f"NumPy {np.__version__}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after",
             "", "| what | gradfit | reference | against | ratio | target | note |", "|---|---|---|---|---|---|---|"]
    for what, ours, ref, against, target, note in rows:
        if "read" in against:
            ratio = f"{ours / ref:.2f} reads"
        elif against.startswith("the ") or "numpy" in against:
            ratio = f"{ours / ref:.2f}× its time"
        else:
            ratio = f"speed-up {ref / ours:.2f}×"
        lines.append(f"| {what} | {fmt(ours)} | {fmt(ref)} | {against} | {ratio} | {target} | {note} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, RESULTS.md untouched")
    mode = "smoke" if parser.parse_args(argv).smoke else "full"
    n, d = SIZES[mode]
    reps = REPEATS[mode]
    load_before = os.getloadavg()
    X, y = make_data(n, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GDRegressor(batch_size=32, epochs=1, tol=None).fit(X[:100], y[:100])  # kernels compiled or loaded
    rows = fit_rows(X, y, reps) + startup_rows(max(reps, 5 if mode == "full" else 1))
    if mode == "full":
        rows.append(first_fit_row())
    text = table(rows, n, d, load_before, os.getloadavg())
    print(text)
    if mode == "full":
        update_section("whole-fits", "## Whole fits and start-up (`benchmarks/whole_fits.py`)\n\n" + text,
                       at_top=True)


if __name__ == "__main__":
    main()

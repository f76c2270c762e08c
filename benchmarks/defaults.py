"""Default fits on real data: does GDRegressor() reach the optimum, and how long does it take?

Runs the estimator with default settings, and the command line (`gradfit fit DATA -t y --strict`)
on the same data, for statsmodels' bundled data sets; prints the distance from the exact answer,
the epochs, the verdict and the wall time of each. Usage: python benchmarks/defaults.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from statsmodels import datasets

from gradfit import GDRegressor

SETS = ["stackloss", "longley", "fair", "ccard", "cpunish", "scotland", "copper", "statecrime", "engel"]


def load(name: str):
    data = getattr(datasets, name).load_pandas()
    return data.exog.select_dtypes("number").astype(float), np.asarray(data.endog, dtype=float)


def estimator_row(name: str, X, y) -> str:
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GDRegressor().fit(X, y)
    seconds = time.perf_counter() - start
    return (f"| {name} | {len(y)} × {X.shape[1]} | {model.n_iter_} | {model.gap_.param_distance:.1e} | "
            f"{model.verdict_.reason} | {len(caught)} | {seconds:.2f} s |")


def cli_seconds(name: str, X, y, folder: Path) -> tuple[float, int]:
    path = folder / f"{name}.csv"
    X.assign(target_=y).to_csv(path, index=False)
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "gradfit"), "fit", str(path), "-t", "target_", "--strict",
                           "--quiet", "-o", str(folder / f"{name}.json")], capture_output=True)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    print("| data | rows × features | epochs | distance | verdict | warnings | estimator | CLI (exit) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in SETS:
            X, y = load(name)
            seconds, status = cli_seconds(name, X, y, Path(tmp))
            print(f"{estimator_row(name, X, y)} {seconds:.2f} s ({status}) |")


if __name__ == "__main__":
    main()

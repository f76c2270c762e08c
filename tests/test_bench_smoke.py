"""The benchmark script runs end to end in its smoke mode (no timing assertions)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_benchmark_smoke_mode_prints_both_tables():
    out = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for needle in ("sklearn SGDRegressor", "sklearn LinearRegression", "PyTorch tutorial loop",
                   "plain NumPy loop", "one read of X", "PyTorch DataLoader loop", "## scaling", "Numba compile"):
        assert needle in out.stdout


def test_gpu_benchmark_smoke_mode_runs_or_says_no_gpu():
    script = BENCH.parent / "bench_torch_gpu.py"
    out = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import torch

    assert ("GB/s" in out.stdout) if torch.cuda.is_available() else ("no CUDA GPU" in out.stdout)


@pytest.mark.parametrize("script, needles", [
    ("dask_bench.py", ("bare read-and-sum", "gradfit full batch, whole fit", "1 read(s) of each of",
                       "minibatch-100 epoch", "order='auto' (runs 'global')", "dask-ml", "peak resident memory",
                       "load average")),
    ("whole_fits.py", ("whole fit of 5 epochs", "sklearn SGDRegressor(max_iter=5)", "marginal epoch",
                       "fixed cost of a fit", "gradfit --help", "import numpy", "load average")),
    ("bench_sparse.py", ("gradfit GDRegressor", "scikit-learn SGDRegressor", "whole epoch", "compiled steps alone",
                         "full-data loss and gradient alone", "plain Numba loop", "beyond the steps", "record_every=5",
                         "peak memory", "Load average")),
    ("bench_robust.py", ("gradfit Huber", "before the epochs", "whole fit of 5 epochs", "SGDRegressor(loss='huber'",
                         "gradfit quantile", "QuantileRegressor", "Load average")),
], ids=["dask", "whole-fits", "sparse", "robust"])
def test_benchmark_script_smoke_mode_prints_every_row(script, needles):
    out = subprocess.run([sys.executable, str(BENCH.parent / script), "--smoke"], capture_output=True, text=True,
                         timeout=300, cwd=BENCH.parent)
    assert out.returncode == 0, out.stderr
    for needle in needles:
        assert needle in out.stdout

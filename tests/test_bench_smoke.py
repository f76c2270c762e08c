"""The benchmark script runs end to end in its smoke mode (no timing assertions)."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_benchmark_smoke_mode_prints_both_tables():
    out = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for needle in ("sklearn SGDRegressor", "sklearn LinearRegression", "PyTorch tutorial loop",
                   "plain NumPy loop", "one read of X", "PyTorch DataLoader loop", "## scaling", "Numba compile"):
        assert needle in out.stdout

"""gradfit's fast paths against what users would otherwise pick, measured in one run.

    python benchmarks/run.py            reference data: n = 2,000,000 × d = 50, float64 (~800 MB)
    python benchmarks/run.py --quick    n = 200,000 × d = 50, smaller scaling grid
    python benchmarks/run.py --smoke    seconds; the tests run it so it never rots

Times are the best of a few repeats (wall clock). Loops that would take minutes (the
plain NumPy and PyTorch full-batch loops, the DataLoader loop) are timed over a few
epochs or batches and scaled, as the table says. Numba compile time is reported apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from sklearn.linear_model import LinearRegression, SGDRegressor
from synthetic import make_data
from timing import best_of  # benchmarks/ is on the path: these files run as scripts

from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines.numpy import NumpyEngine
from gradfit.optimum.gram import block_stats
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

SIZES = {"smoke": (2_000, 5), "quick": (200_000, 50), "full": (2_000_000, 50)}
GRIDS = {
    "smoke": ([1_000], [10]),
    "quick": ([100_000], [10, 100]),
    "full": ([100_000, 1_000_000, 10_000_000], [10, 100, 1000]),
}
WIDE = {"smoke": (200, 500), "quick": (2_000, 5_000), "full": (20_000, 5_000)}
REPEATS = {"smoke": 1, "quick": 3, "full": 3}

#: an epoch's time is the difference of two fits (same preparation) that differ by this many epochs
EXTRA_EPOCHS = 2



def numpy_loop(X, y, lr: float, epochs: int) -> None:
    """the full-batch loop a NumPy tutorial writes"""
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    for _ in range(epochs):
        r = X @ w + b - y
        w -= lr * 2.0 * (X.T @ r) / n
        b -= lr * 2.0 * r.mean()


def torch_loop(X, y, lr: float, epochs: int) -> None:
    """the full-batch loop a PyTorch tutorial writes (autograd, optim.SGD)"""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([W, b], lr=lr)
    for _ in range(epochs):
        loss = ((Xt @ W + b - yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def torch_dataloader(X, y, lr: float, batch_size: int, max_batches: int) -> int:
    """a DataLoader-style minibatch loop; returns how many batches it ran"""
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
    model = torch.nn.Linear(X.shape[1], 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    done = 0
    for xb, yb in loader:
        loss = ((model(xb).squeeze(1) - yb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        done += 1
        if done >= max_batches:
            break
    return done


def epoch_time(X, y, repeats: int, **cfg) -> tuple[float, float]:
    """(seconds of one epoch, loss after one epoch): fits of 1 + EXTRA_EPOCHS and of 1 epoch, difference per epoch"""
    one = fit(X, y, FitConfig(epochs=1, seed=0, **cfg))
    more = best_of(lambda: fit(X, y, FitConfig(epochs=1 + EXTRA_EPOCHS, seed=0, **cfg)), repeats)
    base = best_of(lambda: fit(X, y, FitConfig(epochs=1, seed=0, **cfg)), repeats)
    return max(more - base, 1e-9) / EXTRA_EPOCHS, one.history.loss[-1]


def row(name: str, ours: float, theirs: float, against: str, target: str, note: str = "") -> dict:
    return {"name": name, "ours": ours, "theirs": theirs, "against": against, "target": target, "note": note}


def full_batch_rows(X, y, reps: int, quick_loops: int) -> list[dict]:
    """500 full-batch epochs: the Gram path against the plain loops and one XᵀX pass"""
    lr = 0.1
    ours = best_of(lambda: fit(X, y, FitConfig(epochs=500, lr=lr, record_every=500)), reps)
    xtx = best_of(lambda: X.T @ X, reps)
    numpy_loop(X, y, lr, 1), torch_loop(X, y, lr, 1)  # warm up (first-call set-up is not an epoch)
    npy = best_of(lambda: numpy_loop(X, y, lr, quick_loops), 1) * 500 / quick_loops
    tch = best_of(lambda: torch_loop(X, y, lr, quick_loops), 1) * 500 / quick_loops
    scaled = f"timed over {quick_loops} epochs, ×{500 // quick_loops}"
    return [
        row("full batch, 500 epochs (Gram)", ours, npy, "plain NumPy loop", "≥ 50×", scaled),
        row("full batch, 500 epochs (Gram)", ours, tch, "PyTorch tutorial loop", "≥ 100×", scaled),
        row("full batch, 500 epochs (Gram)", ours, xtx, "one XᵀX pass (NumPy)", "≤ 1.5× (ratio ≥ 0.67)"),
    ]


def sgd_rows(X, y, reps: int) -> list[dict]:
    """per-sample epochs (exact and block shuffle) against scikit-learn's SGDRegressor"""
    lr = 1e-3
    exact, loss_e = epoch_time(X, y, reps, batch_size=1, lr=lr)
    block, loss_b = epoch_time(X, y, reps, batch_size=1, lr=lr, engine_options={"shuffle_mode": "block"})
    est = SGDRegressor(max_iter=1, learning_rate="constant", eta0=2 * lr, penalty=None, tol=None,
                       shuffle=True, random_state=0)  # sklearn steps on ½r²: eta0 = 2·lr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = best_of(lambda: est.fit(X, y), reps)
    loss_sk = float(np.mean((X @ est.coef_ + est.intercept_ - y) ** 2))
    losses = f"final mse {loss_e:.4g} / block {loss_b:.4g} / sklearn {loss_sk:.4g}"
    return [
        row("per-sample SGD epoch, exact shuffle", exact, sk, "sklearn SGDRegressor", "≥ 3×", losses),
        row("per-sample SGD epoch, block shuffle", block, sk, "sklearn SGDRegressor", "≥ 3×"),
        row("per-sample SGD epoch, block shuffle", block, exact, "exact shuffle", "(what block buys)"),
    ]


def minibatch_rows(X, y, reps: int, max_batches: int) -> list[dict]:
    """batch-32 epochs against one read of X and a DataLoader loop"""
    exact, _ = epoch_time(X, y, reps, batch_size=32, lr=1e-3)
    block, _ = epoch_time(X, y, reps, batch_size=32, lr=1e-3, engine_options={"shuffle_mode": "block"})
    read = best_of(lambda: X.sum(), reps)
    t0 = time.perf_counter()
    done = torch_dataloader(X, y, 1e-3, 32, max_batches)
    loader = (time.perf_counter() - t0) * (-(-len(y) // 32)) / done
    return [
        row("minibatch-32 epoch, exact shuffle", exact, read, "one read of X (X.sum())", "≤ 3× (ratio ≥ 0.33)"),
        row("minibatch-32 epoch, block shuffle", block, read, "one read of X (X.sum())", "≤ 3× (ratio ≥ 0.33)"),
        row("minibatch-32 epoch, exact shuffle", exact, loader, "PyTorch DataLoader loop", "≥ 5×",
            f"timed over {done} batches, scaled"),
    ]


def exact_rows(X, y, reps: int) -> list[dict]:
    """the exact solve (statistics pass + Cholesky) against LinearRegression"""
    ours = best_of(lambda: fit(X, y, FitConfig(epochs=0)), reps)
    sk = best_of(lambda: LinearRegression().fit(X, y), reps)
    res, ref = fit(X, y, FitConfig(epochs=0)), LinearRegression().fit(X, y)
    err = float(np.max(np.abs(np.asarray(res.exact.coef) - ref.coef_) / np.abs(ref.coef_)))
    return [row("exact solve (fit epochs=0)", ours, sk, "sklearn LinearRegression", "≥ 5×",
                f"max coef rel. diff {err:.1e}, method {res.exact.method}")]


def wide_rows(n: int, d: int, reps: int) -> list[dict]:
    """one fused full pass (Xw and Xᵀr block by block) on data too wide for a Gram matrix"""
    X, y = make_data(n, d, seed=1)
    engine = NumpyEngine(X, y)
    engine.prepare(LinearModel(d), Preprocessor.identity(d))
    theta = np.full(d + 1, 0.01)
    ours = best_of(lambda: engine.loss_grad(theta), reps)
    read = best_of(lambda: X.sum(), reps)
    return [row(f"wide full-batch epoch ({n}×{d})", ours, read, "one read of X (X.sum())",
                "≤ 1.5× (ratio ≥ 0.67)")]


def compile_seconds() -> float:
    """seconds of the first minibatch fit in a fresh process with an empty Numba cache (compilation, mostly)"""
    return first_fit_seconds(os.environ)[0]


def first_fit_seconds(env) -> tuple[float, str]:
    """(seconds, what it printed on stderr) of a small minibatch fit in a fresh process whose Numba cache
    is empty: what the first fit after an install without ``make venv``'s warm-up costs"""
    code = ("import time, numpy as np; t = time.perf_counter(); from gradfit import GDRegressor; "
            "X = np.random.default_rng(0).normal(size=(200, 3)); "
            "GDRegressor(batch_size=8, epochs=1, tol=None).fit(X, X.sum(axis=1)); print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                             check=True, env={**env, "NUMBA_CACHE_DIR": cache})
    return float(out.stdout.strip().splitlines()[-1]), out.stderr.strip()


def scaling_table(mode: str, reps: int) -> list[tuple]:
    """(n, d, one read, statistics pass, exact fit, minibatch-32 epoch) where X fits in a quarter of free memory"""
    ns, ds = GRIDS[mode]
    budget = 0.25 * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    out = []
    for n in ns:
        for d in ds:
            if 8.0 * n * d > budget:
                out.append((n, d, None, None, None, None))
                continue
            X, y = make_data(n, d)
            read = best_of(lambda: X.sum(), reps)
            stats = best_of(lambda: block_stats(X, y), reps)
            exact = best_of(lambda: fit(X, y, FitConfig(epochs=0)), 1)
            mini, _ = epoch_time(X, y, 1, batch_size=32, lr=1e-4)
            out.append((n, d, read, stats, exact, mini))
            del X, y
    return out


def fmt(seconds) -> str:
    return "skipped (memory)" if seconds is None else f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def print_tables(rows: list[dict], scaling: list[tuple], n: int, d: int, compile_s: float | None) -> None:
    print(f"# gradfit benchmarks: n={n:,} × d={d}, float64 ({n * d * 8 / 1e6:.0f} MB)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    seconds = "not measured in smoke mode" if compile_s is None else f"{compile_s:.2f} s"
    print(f"Numba compile of the epoch kernel (empty cache, apart from run times): {seconds}\n")
    print("| what | gradfit | reference | against | speed-up | target | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {fmt(r['ours'])} | {fmt(r['theirs'])} | {r['against']} | "
              f"{r['theirs'] / r['ours']:.2f}× | {r['target']} | {r['note']} |")
    print("\n## scaling (one read of X, Gram statistics pass, exact fit, minibatch-32 epoch)\n")
    print("| n | d | read X | statistics | exact fit | minibatch-32 epoch |")
    print("|---|---|---|---|---|---|")
    for n_, d_, *times in scaling:
        print(f"| {n_:,} | {d_} | " + " | ".join(fmt(t) for t in times) + " |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n=200,000 and a small scaling grid")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the tests")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    reps, (n, d) = REPEATS[mode], SIZES[mode]
    compile_s = None if mode == "smoke" else compile_seconds()
    X, y = make_data(n, d)
    rows = (full_batch_rows(X, y, reps, 2 if mode == "smoke" else 5) + sgd_rows(X, y, reps)
            + minibatch_rows(X, y, reps, 200 if mode == "smoke" else 3000) + exact_rows(X, y, reps))
    del X, y
    rows += wide_rows(*WIDE[mode], reps)
    print_tables(rows, scaling_table(mode, reps), n, d, compile_s)


if __name__ == "__main__":
    main()

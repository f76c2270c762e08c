"""Epoch time and achieved memory bandwidth of the torch engine on a CUDA GPU.

Full-batch epochs run the plain autograd pass over all rows (gram=False, not the Gram
shortcut): the forward X·v and the backward Xᵀr each read X once, so an epoch reads
2 × (bytes of X). Minibatch epochs gather each shuffled batch (one read of its rows)
and run the same forward and backward on the gathered copy; the objective after each
epoch comes from the Gram statistics, so the epoch is the steps alone. The streamed
row keeps X in pinned host memory and copies each block over per pass (PCIe-bound).
Bandwidth = bytes of X read per epoch / median epoch time (from the history's clock,
which the loop's per-step ``float(loss)`` keeps in step with the GPU).

    python benchmarks/bench_torch_gpu.py [--smoke]

On a machine without a CUDA GPU it says so and exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

import torch

from gradfit.training.config import FitConfig
from gradfit.training.solver import fit


@dataclass
class Case:
    """one measured configuration"""

    label: str
    n: int
    d: int
    dtype: str
    batch_size: int | None
    reads: int  # times each byte of X is read per epoch
    stream: bool = False


FULL = [
    Case("full batch", 4_000_000, 256, "float32", None, 2),
    Case("full batch", 2_000_000, 256, "float64", None, 2),
    Case("minibatch 65536", 4_000_000, 256, "float32", 65536, 3),
    Case("minibatch 4096", 1_000_000, 256, "float32", 4096, 3),
    Case("full batch, streamed", 1_000_000, 256, "float32", None, 2, stream=True),
]
SMOKE = [
    Case("full batch", 20_000, 16, "float32", None, 2),
    Case("minibatch 1024", 20_000, 16, "float32", 1024, 3),
    Case("full batch, streamed", 20_000, 16, "float32", None, 2, stream=True),
]


def synthetic(n: int, d: int, dtype: str, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uncentered features and a noisy linear target, made on the device"""
    gen = torch.Generator(device=device).manual_seed(0)
    X = torch.randn((n, d), generator=gen, device=device, dtype=getattr(torch, dtype)) + 1.0
    w = torch.linspace(-1.0, 1.0, d, device=device, dtype=X.dtype)
    return X, X @ w + 0.5 + 0.1 * torch.randn(n, generator=gen, device=device, dtype=X.dtype)


def measure(case: Case, device: str, epochs: int) -> dict:
    """median epoch time and bandwidth of one case"""
    X, y = synthetic(case.n, case.d, case.dtype, device)
    config = FitConfig(engine="torch", device=device, dtype=case.dtype, lr=1e-3, epochs=epochs, seed=0,
                       batch_size=case.batch_size, gram=False if case.batch_size is None else "auto",
                       engine_options={"stream": case.stream})
    times = fit(X, y, config).history.time
    epoch_s = statistics.median(b - a for a, b in zip(times[1:], times[2:]))  # the first epoch warms up
    read = case.reads * X.element_size() * case.n * case.d
    return {"case": case.label, "rows": case.n, "features": case.d, "dtype": case.dtype,
            "epoch_ms": 1e3 * epoch_s, "GB_per_s": read / epoch_s / 1e9}


def main(smoke: bool = False) -> int:
    """measure every case on the first CUDA GPU and print a table; 0 when no GPU is present"""
    if not torch.cuda.is_available():
        print("bench_torch_gpu: no CUDA GPU present (torch.cuda.is_available() is False); nothing measured")
        return 0
    print(f"bench_torch_gpu on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"{'case':<24}{'rows':>11}{'d':>5}{'dtype':>9}{'epoch ms':>11}{'GB/s':>9}")
    for case in SMOKE if smoke else FULL:
        row = measure(case, "cuda", epochs=4 if smoke else 8)
        print(f"{row['case']:<24}{row['rows']:>11}{row['features']:>5}{row['dtype']:>9}"
              f"{row['epoch_ms']:>11.2f}{row['GB_per_s']:>9.1f}")
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check that the script runs")
    sys.exit(main(parser.parse_args().smoke))

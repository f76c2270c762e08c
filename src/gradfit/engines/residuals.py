"""The exact answer's check pass over in-memory rows, compiled: Σr², Xᵀr and Σr at (coef, b) in one read.

``gradfit.accurate.residual_pass`` (NumPy, block by block) computes the same in float64 with two
matrix products per block and their temporaries, about two reads of X; here each row's residual
r = y − x·coef − b is formed and folded into the sums while the row is in the registers, by one
thread per core over contiguous shares of the rows. Each block of ``BLOCK`` rows is summed apart
and then added to the totals, so no running sum grows over more than a block.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..descent.threads import cores
from ..optimum.accurate import DD, ResidualPass
from .jit_cache import compiling, frozen_rows, jit

#: rows summed apart before they join the totals
BLOCK = 4096

#: let LLVM use SIMD lanes for the dot products and sums (a float64 check pass promises no rounding order)
FAST = {"reassoc", "contract"}


@jit(nogil=True, fastmath=FAST, error_model="numpy")
def _rows(X, y, coef, b, lo, hi, out):
    """out ← [Σ x·r, Σ r, Σ r²] over rows lo:hi, block by block"""
    d = X.shape[1]
    part = np.zeros(d + 2)
    for start in range(lo, hi, BLOCK):
        part[:] = 0.0
        for i in range(start, min(start + BLOCK, hi)):
            p = 0.0
            for j in range(d):
                p += X[i, j] * coef[j]
            r = y[i] - p - b
            for j in range(d):
                part[j] += X[i, j] * r
            part[d] += r
            part[d + 1] += r * r
        out += part


def residual_pass(X: np.ndarray, y: np.ndarray, coef, b: float, workers: int | None = None) -> ResidualPass:
    """Σr² and [Xᵀr, Σr] at (coef, b) in float64, in one read of float64 X (any layout) and y"""
    n, d = X.shape
    X, y = frozen_rows(X, y)
    coef = np.ascontiguousarray(coef, dtype=np.float64)
    workers = max(1, min(workers or cores(), -(-n // BLOCK)))
    bounds = np.linspace(0, n, workers + 1).astype(int)
    outs = np.zeros((workers, d + 2))
    compiling(_rows, "the check-pass kernel")(X, y, coef, float(b), 0, 0, outs[0])  # compiled here, if it must be
    if workers == 1:
        _rows(X, y, coef, float(b), 0, n, outs[0])
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda k: _rows(X, y, coef, float(b), bounds[k], bounds[k + 1], outs[k]), range(workers)))
    total = outs.sum(axis=0)
    grad = total[: d + 1]
    return ResidualPass(float(total[d + 1]), DD(grad, np.zeros_like(grad)))

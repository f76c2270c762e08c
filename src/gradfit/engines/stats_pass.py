"""The statistics pass's block copy, compiled: Z = [x − k, y − k_y, 1, r₀] for each row of a block in one read.

``gradfit.optimum.gram.block_stats`` copies each block of rows, shifted, into a small buffer that
stays in the cache, and multiplies it by itself (BLAS). NumPy makes that copy with two strided
writes and, with a pilot answer, a third product for the residual column r₀ = Z·a; here each row
is read once and written shifted, and its residual and norm are summed from the row just written (in
the first-level cache, and the same sums whatever X's layout): a block of 4096 × 50 float64 rows in
about 140–200 µs against NumPy's 350–420 µs on this machine. For an X that is not row-major (a
DataFrame's values) whose epochs will read rows, the same read also writes the kernels' row-major copy
(``NumpyEngine.gram``), instead of a second strided read of X at the first epoch.
"""

from __future__ import annotations

import numpy as np

from .jit_cache import compiling, jit

#: the residual's dot product may be summed in SIMD lanes (its rounding is that of any float64 residual)
FAST = {"reassoc", "contract"}


@jit(nogil=True, fastmath=FAST, error_model="numpy")
def _fill(X, y, lo, hi, shift, a, wn, z, norms, rows):
    """z[i] = [X[lo + i] − shift_x, y[lo + i] − shift_y, (kept), r₀] for i < hi − lo, with r₀ = z[i, :d + 2]·a
    when ``a`` is not empty (column d + 1, the ones, is left as it is), norms[i] = Σⱼ wn[j]·z[i, j]² when
    ``wn`` is not empty, and rows[lo + i] = X[lo + i] when ``rows`` is not empty (a row-major copy of X made by
    the same read)"""
    d = X.shape[1]
    residual, norm, copy = a.shape[0] > 0, wn.shape[0] > 0, rows.shape[0] > 0
    for i in range(hi - lo):
        for j in range(d):
            z[i, j] = X[lo + i, j] - shift[j]
        if copy:
            for j in range(d):
                rows[lo + i, j] = X[lo + i, j]
        z[i, d] = y[lo + i] - shift[d]
        # the sums read the row just written, so their order (SIMD lanes) never follows X's layout
        if residual:
            r = 0.0
            for j in range(d + 1):
                r += z[i, j] * a[j]
            z[i, d + 2] = r + a[d + 1]
        if norm:
            q = 0.0
            for j in range(d):
                q += wn[j] * z[i, j] * z[i, j]
            norms[i] = q


class CompiledFill:
    """``block_stats``' ``fill``, compiled on first use (with a message, before the pass's threads start); with
    ``rows`` (an empty row-major array of X's shape and dtype), the same read also copies X's rows into it"""

    def __init__(self, X, y, rows: np.ndarray | None = None):
        """ready for X and y of these kinds (the pass gives them read-only, ``jit_cache.frozen``, y contiguous)"""
        d = X.shape[1]
        self.rows = rows if rows is not None else np.empty((0, d), dtype=X.dtype)
        compiling(_fill, "the statistics kernel")(X, y, 0, 0, np.zeros(d + 1), _EMPTY, _EMPTY, np.empty((0, d + 3)),
                                                  _EMPTY, self.rows)

    def __call__(self, X, y, lo: int, hi: int, shift: np.ndarray, a, z: np.ndarray, wn=None, norms=None) -> None:
        _fill(X, y, lo, hi, shift, _EMPTY if a is None else a, _EMPTY if wn is None else wn, z,
              _EMPTY if norms is None else norms, self.rows)


_EMPTY = np.empty(0)

"""CSR rows for the compiled sparse kernels (Numba): the rows and their order, the rows' weights, and the loops
over one row's nonzeros that the steps (``kernels_sparse``, ``kernels_lazy``) and the passes over all rows
(``sparse_passes``) share.

The loops index unsigned (``span``, ``column``): Numba wraps a signed index as Python does, which put two selects
and a shift on every load of a nonzero; the structure is checked before any kernel runs
(``io.checks.check_sparse_structure``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .jit_cache import jit
from .kernels import fast

__all__ = ["CsrRows", "csr_rows", "RowWeights", "row_weights", "UNWEIGHTED", "FLAGS", "loop", "row_of", "span",
           "column", "row_dot", "add_row", "row_products"]

#: fused multiply-adds, but sums kept in order: with reordering allowed LLVM vectorizes the sums over a row's
#: nonzeros into gathers of 4, several times slower on rows of a few nonzeros than the scalar loop
FLAGS = {"contract"}

#: decorator of the kernels' loops (inlined helpers take the flags of the function they land in); they release the
#: GIL: the next epoch's order is drawn meanwhile (``descent.batching.EpochOrders``), and the full pass's halves
#: run on two threads (``sparse_passes``)
loop = jit(fastmath=FLAGS, error_model="numpy", nogil=True)


class CsrRows(NamedTuple):
    """the CSR data and the epoch's order: batches of ``batch_size`` rows of ``order``"""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    y: np.ndarray
    order: np.ndarray
    shuffled: bool
    batch_size: int


def csr_rows(X, y, order=None, batch_size: int = 1) -> CsrRows:
    """the CsrRows of CSR matrix X and targets y in ``order`` (None: row order)"""
    order = np.empty(0, np.int64) if order is None else order
    return CsrRows(X.indptr, X.indices, X.data, y, order, order.size > 0, int(batch_size))


class RowWeights(NamedTuple):
    """the rows' weights w̃ when ``weighted`` (else empty), read by the dense kernels' ``weight`` (the fields of
    ``kernels.Rows`` it reads). A tuple apart from CsrRows: two more fields there made the lazy steps 3.5× slower
    (LLVM no longer kept the row arrays' pointers out of the per-step loop)"""

    w: np.ndarray
    weighted: bool


UNWEIGHTED = RowWeights(np.empty(0), False)


def row_weights(weights) -> RowWeights:
    """RowWeights of w̃ (None: unweighted)"""
    return UNWEIGHTED if weights is None else RowWeights(weights, True)


@fast
def row_of(rows, k):
    return rows.order[k] if rows.shuffled else k


@fast
def span(rows, i):
    """the positions of row i's nonzeros in ``indices`` and ``data`` (lo, hi), unsigned.

    Numba indexes an array with a signed integer as Python does, a negative index counting from the end: two
    selects and a shift on every load of ``data[p]``, ``indices[p]`` and ``v[j]``, on the path from one nonzero
    to the next. Unsigned positions and columns need none: a per-sample epoch of 10⁶ rows of 10 nonzeros took
    45 ms with signed indices and takes 26 ms, the same sums bit for bit. The CSR structure is checked before any
    kernel runs (``io.checks.check_sparse_structure``), so every position and column is within its array.
    """
    return np.uint64(rows.indptr[i]), np.uint64(rows.indptr[i + 1])


@fast
def column(rows, p):
    """the column of the nonzero at position p, unsigned (see ``span``)"""
    return np.uint64(rows.indices[p])


@fast
def row_dot(rows, i, v):
    """x_i·v over the row's nonzeros"""
    lo, hi = span(rows, i)
    s = 0.0
    for p in range(lo, hi):
        s += rows.data[p] * v[column(rows, p)]
    return s


@fast
def add_row(rows, i, scale, acc):
    """acc ← acc + scale·x_i (the row's nonzeros only)"""
    lo, hi = span(rows, i)
    for p in range(lo, hi):
        acc[column(rows, p)] += rows.data[p] * scale


@loop
def row_products(rows, v):
    """x_i·v of every row"""
    out = np.empty(rows.y.shape[0])
    for i in range(out.shape[0]):
        out[i] = row_dot(rows, i, v)
    return out

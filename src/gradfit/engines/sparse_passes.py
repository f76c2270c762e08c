"""Passes over all CSR rows (Numba): the full-data loss and gradient the training loop records after every
epoch, and the exact answer's double-double residual pass; sparse X is never densified.

``full_loss_grad`` is one fused read of the nonzeros (residual, loss, derivative and Xᵀg row by row, each
row's terms times its weight w̃ᵢ), in two halves of the rows on two threads from ``SPLIT_FROM`` nonzeros,
with its O(d) parts in compiled loops: no BLAS call, whose threads, asleep during a compiled epoch, take
milliseconds to wake. The rows, weights and per-row helpers are the epoch kernels' (``kernels_sparse``).
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from ..descent.threads import beside, two_cores
from ..optimum import accurate
from .jit_cache import compiling, jit, will_compile
from .kernels import Fold, compiled, coordinate_gradient, raw_params, weight
from .csr import CsrRows, RowWeights, add_row, column, loop, row_dot, span

__all__ = ["loss_pass", "full_loss_grad", "residual_pass_dd", "SPLIT_FROM"]

#: nonzeros from which the full pass reads its two halves of the rows on two threads (below, one thread reads all)
SPLIT_FROM = 1 << 18


@loop
def pass_block(rows, wts, lo, hi, v, offset, value, deriv, lp, xtg):
    """Σ w̃·loss and Σ w̃·g over rows lo:hi, and xtg ← xtg + Xᵀ(w̃·g) over them (g the loss's derivative at
    r = x·v + offset − y, w̃ the row's weight: 1 unweighted), in one read of their nonzeros"""
    total, gsum = 0.0, 0.0
    for i in range(lo, hi):
        r = row_dot(rows, i, v) + offset - rows.y[i]
        wi = weight(wts, i)
        total += value(r, lp) * wi
        g = deriv(r, lp) * wi
        gsum += g
        add_row(rows, i, g, xtg)
    return total, gsum


def halves(indptr: np.ndarray) -> list[int]:
    """row bounds of the pass's blocks: two with half the nonzeros each, or one below SPLIT_FROM nonzeros (the
    same blocks whatever the machine, so the sums are the same)"""
    n, nnz = len(indptr) - 1, int(indptr[-1])
    if nnz < SPLIT_FROM:
        return [0, n]
    return [0, int(np.searchsorted(indptr, indptr.dtype.type(nnz // 2))), n]  # (an int64 key would copy indptr)


def loss_pass(rows: CsrRows, weights: RowWeights, v: np.ndarray, offset: float, loss,
              one_thread: bool = False) -> tuple[float, np.ndarray, float]:
    """(Σ w̃·loss, Xᵀ(w̃·g), Σ w̃·g) over all rows: ``pass_block`` on each half of the nonzeros, each half with its
    own Xᵀg (summed after), the second half on a thread of its own where the process may use two cores (and not
    ``one_thread``: the other core is busy; the halves are then read one after the other, with the same sums)"""
    bounds = halves(rows.indptr)
    args = (v, float(offset), compiled(loss.value), compiled(loss.deriv), loss.params)
    xtg = [np.zeros(v.shape[0]) for _ in bounds[1:]]
    blocks = [(rows, weights, lo, hi, *args, out) for lo, hi, out in zip(bounds, bounds[1:], xtg)]
    concurrent = len(blocks) == 2 and not one_thread and _concurrent(blocks[1])
    second = beside(pass_block, *blocks[1], name="gradfit-sparse-pass") if concurrent else None
    sums = [compiling(pass_block, "the sparse loss pass")(*blocks[0])]
    if len(blocks) == 2:
        sums.append(second() if second is not None else pass_block(*blocks[1]))
        xtg[0] += xtg[1]
    return sum(part[0] for part in sums), xtg[0], sum(part[1] for part in sums)


def _concurrent(block: tuple) -> bool:
    """whether the second half runs beside the first: the process may use two cores, and the pass is compiled
    already (a first call compiles on the calling thread, which says so)"""
    return two_cores() and not will_compile(pass_block, block)


@loop
def raw_offset(theta, fold, v):
    """``kernels.raw_params``: v ← w·inv_scale; returns the raw offset b − shift·v + y_shift"""
    return raw_params(theta, fold, v)


@loop
def full_gradient(xtg, gsum, f, fold, theta, grad):
    """grad ← the gradient of the mean loss in the descent's units from Xᵀg and Σg (``coordinate_gradient``
    without a penalty; the intercept's is f·Σg)"""
    d = xtg.shape[0]
    for j in range(d):
        grad[j] = coordinate_gradient(xtg[j], gsum, f, fold.shift[j], fold.inv_scale[j], 0.0, theta[j])
    if fold.fit_intercept:
        grad[d] = gsum * f


def full_loss_grad(rows: CsrRows, weights: RowWeights, fold: Fold, theta: np.ndarray, loss,
                   one_thread: bool = False) -> tuple[float, np.ndarray]:
    """the mean of w̃·loss over all rows at theta (descent's units) and its gradient: O(d) compiled loops around
    one read of the nonzeros (no BLAS call: its threads, asleep during the epoch, take milliseconds to wake);
    ``one_thread``: on the calling thread alone (``loss_pass``)"""
    n, d = rows.y.shape[0], fold.shift.shape[0]
    v = np.empty(d)
    offset = compiling(raw_offset, "the sparse loss pass")(theta, fold, v)
    total, xtg, gsum = loss_pass(rows, weights, v, offset, loss, one_thread)
    grad = np.empty(theta.shape[0])
    compiling(full_gradient, "the sparse loss pass")(xtg, gsum, 1.0 / n, fold, theta, grad)
    return total / n, grad


# error-free transformations (``gradfit.optimum.accurate``) compiled without fast-math, which would undo them
register_jitable(accurate._split)
_two_sum = jit()(accurate.two_sum)
_two_prod = jit()(accurate.two_prod)


@jit(inline="always")
def _weighted(w, hi, lo):
    """``accurate.weighted`` for one row: w·(hi + lo) as double-double"""
    p, e = _two_prod(w, hi)
    return _two_sum(p, e + w * lo)


@jit()
def residual_pass_dd(rows, wts, coef, b, xtr_hi, xtr_lo):
    """Σw̃r² and the double-double sums [Xᵀ(w̃r), Σw̃r] for r = y − X·coef − b over CSR rows (each residual in
    double-double by compensated dot products, times the row's weight w̃ as ``accurate.weighted``); Xᵀ(w̃r) goes
    into xtr_hi + xtr_lo; returns (Σw̃r², Σw̃r hi, Σw̃r lo)"""
    ss, sum_hi, sum_lo = 0.0, 0.0, 0.0
    data = rows.data
    for i in range(rows.y.shape[0]):
        s, e = _two_sum(rows.y[i], -b)
        first, last = span(rows, i)
        for p in range(first, last):
            prod, prod_err = _two_prod(data[p], coef[column(rows, p)])
            s, err = _two_sum(s, -prod)
            e += err - prod_err
        hi, lo = _two_sum(s, e)
        r = hi + lo
        if wts.weighted:
            hi, lo = _weighted(wts.w[i], hi, lo)
        sum_hi, err = _two_sum(sum_hi, hi)
        sum_lo += err + lo
        for p in range(first, last):
            j = column(rows, p)
            prod, prod_err = _two_prod(data[p], hi)
            xtr_hi[j], err = _two_sum(xtr_hi[j], prod)
            xtr_lo[j] += err + prod_err + data[p] * lo
        ss += r * (hi + lo)
    return ss, sum_hi, sum_lo

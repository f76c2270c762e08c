"""Compiled epoch kernels over CSR rows (Numba): minibatch and per-sample steps on sparse X, never densified.

The same steps as the dense kernels (``gradfit.engines.kernels``), row by row over ``indptr/indices/data``:
the residual of row i is Σ data·v[indices] + offset − y_i (v = w·inv_scale, offset = b − shift·v +
y_shift, so x̃ = (x − shift)·inv_scale is applied inside the arithmetic), the loss's derivative, and
the optimizer's rule, L1 proximal step and average. The rule (``gradfit.descent.optim``) and the derivative
(``gradfit.descent.losses``) are the same compiled functions the dense kernels use (``kernels.compiled``).

Two kinds of step:

* a general step updates every coordinate (the gradient of coordinate j is
  ((Xᵀg)_j − shift_j·Σg)·inv_scale_j·f + l2·w_j, non-zero for every j once there is a shift or a
  penalty, and momentum or adaptive slots move every coordinate anyway): O(nnz(batch) + d);
* a lazy step, where the rule is affine in (p, g) and reads no slot (plain SGD: no momentum), without an
  L1 part or averaging: v is kept as α·q + β·m (m = shift·inv_scale², fixed), so the penalty's decay
  and the shift term are two scalars and only the batch's nonzero coordinates of q change:
  O(nnz(batch)), like scikit-learn's SGDRegressor (its ``wscale``). The rule's coefficients come from
  the rule itself: A = rule(1, 0) − rule(0, 0), B = rule(0, 1) − rule(0, 0).

An epoch of lazy steps ends with one general step (the last batch), which writes θ and the
optimizer's slots exactly as the dense kernels leave them.

In a weighted fit each row's derivative is multiplied by its weight w̃ᵢ (``kernels.weight``, read from
``RowWeights``), in both kinds of step and in the passes, as the dense kernels do.

The rows and the loops over a row's nonzeros are ``gradfit.engines.csr``; the lazy steps
``gradfit.engines.kernels_lazy``; the passes over all rows (the recorded full-data loss and gradient, the exact
answer's residual pass) ``gradfit.engines.sparse_passes``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .csr import UNWEIGHTED, CsrRows, RowWeights, add_row, csr_rows, loop, row_dot, row_of, row_weights
from .jit_cache import compiling
from .kernels import (Descent, Fold, Penalty, compiled, coordinate_gradient, fast, gather1, gather2, gather3,
                      raw_params, scatter1, scatter2, scatter3, shrink, update_coord, weight)
from .kernels_lazy import lazy_applies, lazy_arrays, lazy_steps, readers

__all__ = ["CsrRows", "csr_rows", "RowWeights", "row_weights", "UNWEIGHTED", "run_epoch", "lazy_applies",
           "lazy_arrays", "readers"]


@fast
def intercept_step(s, d, gsum, f, fold, t, k, rule, gather, scatter, average):
    """the intercept's step (its gradient is the mean derivative; no penalty, no prox)"""
    if fold.fit_intercept:
        s.theta[d] = update_coord(d, gsum * f, s.theta, s.slots, s.hyper, k, rule, gather, scatter)
        if s.average_from >= 0:
            s.avg[d] = average(s.avg[d], s.theta[d], t, s.average_from)


@fast
def general_step(rows, start, stop, fold, penalty, s, t, scalars, rule, gather, scatter, deriv, average, acc, v,
                 offset, wts):
    """one step on rows order[start:stop], every coordinate updated; returns the new offset (acc left zero)"""
    gsum = 0.0
    for kk in range(start, stop):
        i = row_of(rows, kk)
        g = deriv(row_dot(rows, i, v) + offset - rows.y[i], s.loss) * weight(wts, i)
        gsum += g
        add_row(rows, i, g, acc)
    k = scalars(s.hyper, t, s.lr)
    f = 1.0 / (stop - start)
    off, threshold, d = 0.0, s.lr * penalty.l1, v.shape[0]
    for j in range(d):
        grad = coordinate_gradient(acc[j], gsum, f, fold.shift[j], fold.inv_scale[j], penalty.l2, s.theta[j])
        acc[j] = 0.0
        w = shrink(update_coord(j, grad, s.theta, s.slots, s.hyper, k, rule, gather, scatter), threshold)
        s.theta[j] = w
        if s.average_from >= 0:
            s.avg[j] = average(s.avg[j], w, t, s.average_from)
        v[j] = w * fold.inv_scale[j]
        off += fold.shift[j] * v[j]
    intercept_step(s, d, gsum, f, fold, t, k, rule, gather, scatter, average)
    return (s.theta[d] if fold.fit_intercept else 0.0) - off + fold.y_shift


@loop
def epoch(rows, fold, penalty, s, t, scalars, rule, gather, scatter, deriv, average, lazy, use_lazy, wts, read):
    """``run_epoch`` with the compiled step scalars, rule, slot gatherer and scatterer, loss derivative and average,
    and the lazy steps' readers"""
    n, bs = rows.y.shape[0], rows.batch_size
    d = fold.shift.shape[0]
    acc, v = np.zeros(d), np.empty(d)
    last = ((n - 1) // bs) * bs  # the first row of the last batch
    if use_lazy and last > 0:
        t = lazy_steps(rows, last, fold, penalty, s, t, scalars, rule, gather, deriv, lazy, acc, wts, read)
    else:
        last = 0
    offset = raw_params(s.theta, fold, v)
    for start in range(last, n, bs):
        t += 1
        offset = general_step(rows, start, min(start + bs, n), fold, penalty, s, t, scalars, rule, gather, scatter,
                              deriv, average, acc, v, offset, wts)
    return t


def run_epoch(rows: CsrRows, fold: Fold, penalty: Penalty, descent: Descent, t: int, optimizer, deriv: Callable,
              average: Callable, weights: RowWeights = UNWEIGHTED, kept: dict | None = None) -> int:
    """one epoch of steps from step count t on CSR rows, on descent's arrays in place; returns the step count after

    ``optimizer``'s scalars and rule, ``deriv`` and ``average`` are the plain Python functions of
    ``gradfit.descent.optim`` and ``gradfit.descent.losses``, compiled once each (shared with the dense kernels).
    ``weights``: the rows' weights (each row's derivative times w̃ᵢ, as in the dense kernels). ``kept``: where the
    lazy steps' arrays (``lazy_arrays``) are kept from epoch to epoch of a fit (the caller empties it when the
    preprocessing changes); None: made for this epoch.
    """
    k = descent.slots.shape[0]
    gather = compiled((gather1, gather2, gather3)[k - 1])
    scatter = compiled((scatter1, scatter2, scatter3)[k - 1])
    use_lazy = lazy_applies(optimizer, penalty, descent)
    kept = {} if kept is None else kept
    if (k, use_lazy) not in kept:
        kept[k, use_lazy] = lazy_arrays(rows, fold, k, use_lazy)
    lazy = kept[k, use_lazy]
    return compiling(epoch, "the sparse epoch kernels")(
        rows, fold, penalty, descent, t, compiled(optimizer.scalars), compiled(optimizer.rule), gather, scatter,
        compiled(deriv), compiled(average), lazy, use_lazy, weights, readers(lazy, fold, penalty, rows, weights))

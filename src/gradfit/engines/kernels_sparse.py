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

The passes over all rows (the recorded full-data loss and gradient, the exact answer's residual pass) are
``gradfit.engines.sparse_passes``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .jit_cache import compiling, jit
from .kernels import (Descent, Fold, Penalty, compiled, coordinate_gradient, fast, gather1, gather2, gather3,
                      raw_params, scatter1, scatter2, scatter3, shift_dot, shrink, update_coord, weight)

__all__ = ["CsrRows", "csr_rows", "RowWeights", "row_weights", "UNWEIGHTED", "run_epoch", "lazy_applies",
           "lazy_arrays", "row_dot", "add_row", "span", "column", "loop"]

#: fused multiply-adds, but sums kept in order: with reordering allowed LLVM vectorizes the sums over a row's
#: nonzeros into gathers of 4, several times slower on rows of a few nonzeros than the scalar loop
FLAGS = {"contract"}

#: decorator of the kernels' loops (inlined helpers take the flags of the function they land in); they release the
#: GIL: the next epoch's order is drawn meanwhile (``descent.batching.EpochOrders``), and the full pass's halves
#: run on two threads (``sparse_passes``)
loop = jit(fastmath=FLAGS, error_model="numpy", nogil=True)

#: α (the common factor of the lazy coefficients) is folded back into q when it falls below this
RESCALE_BELOW = 1e-9
#: lazy steps between checks of α; the penalty's decay per step is at least ½ (``lazy_applies``), so α stays
#: above RESCALE_BELOW·2⁻²⁵⁶ ≈ 1e-86 between checks. A check inside the per-step loop makes it 3× slower.
CHUNK_STEPS = 256


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


class Lazy(NamedTuple):
    """the lazy steps' arrays: v = α·q + β·m"""

    q: np.ndarray
    m: np.ndarray  # shift·inv_scale²
    xm: np.ndarray  # x_i·m of each row (empty when there is no shift: read by ``row_shift`` only)
    inv2: np.ndarray  # inv_scale² (empty when every scale is 1: read by ``column_scale`` only)
    zero_slots: np.ndarray  # one coordinate of zero slots, for the rule's coefficients


class Readers(NamedTuple):
    """what the lazy steps read and move, as compiled functions chosen once per fit, so that the per-step loops
    carry no unused load, multiply or dependency (a multiply by inv_scale² = 1 read from a table made the
    per-sample steps 20% slower; moving β, shift·q and b, all zero without a shift or an intercept, 10%; α and 1/α,
    which stay 1 without an L2 penalty, and the order's and the weights' branches, 8% together). A constant reader
    takes the general reader's steps: bit for bit, or, where a shift moves β, to the last bits (with the decay the
    constant 1 the multiply-adds fuse otherwise)"""

    scale: Callable  # (lazy, j) -> inv_scale_j²: ``column_scale``, or ``unit_scale`` when every scale is 1
    shift: Callable  # (lazy, i) -> x_i·m: ``row_shift``, or ``no_shift`` when there is no shift
    move: Callable  # the coefficients after a step: ``all_move``, or ``alpha_moves`` (no shift, no intercept)
    decay: Callable  # (A, B, penalty) -> the factor a step puts on v: ``lazy_decay``, or ``no_decay`` (no L2)
    row: Callable  # (rows, k) -> the k-th row of the epoch: ``row_of``, or ``in_order`` (not shuffled)
    weight: Callable  # (wts, i) -> w̃ᵢ: ``kernels.weight``, or ``unit_weight`` (unweighted)


def unit_scale(lazy, j):
    """inv_scale_j² when every scale is 1"""
    return 1.0


def column_scale(lazy, j):
    """inv_scale_j² from the table"""
    return lazy.inv2[j]


def no_shift(lazy, i):
    """x_i·m when there is no shift"""
    return 0.0


def row_shift(lazy, i):
    """x_i·m from the table"""
    return lazy.xm[i]


@fast
def affine_coefficients(rule, gather, lazy, s, k):
    """(A, B) with rule(p, g) = A·p + B·g, read off the rule itself"""
    zero = gather(lazy.zero_slots, 0)
    base = rule(0.0, 0.0, zero, s.hyper, k)[0]
    return rule(1.0, 0.0, zero, s.hyper, k)[0] - base, rule(0.0, 1.0, zero, s.hyper, k)[0] - base


@fast
def lazy_row_update(rows, i, lazy, change, scale):
    """q ← q + change·inv_scale²·x_i over the row's nonzeros (shift·q moves by change·x_i·m)"""
    lo, hi = span(rows, i)
    for p in range(lo, hi):
        j = column(rows, p)
        lazy.q[j] += change * scale(lazy, j) * rows.data[p]


@fast
def lazy_acc_update(rows, start, stop, lazy, change, acc, read):
    """q ← q + change·inv_scale²·acc over the batch's nonzeros, acc zeroed there (shift·q moves by
    change·Σ g_i·x_i·m)"""
    for kk in range(start, stop):
        i = read.row(rows, kk)
        lo, hi = span(rows, i)
        for p in range(lo, hi):
            j = column(rows, p)
            if acc[j] != 0.0:
                lazy.q[j] += change * read.scale(lazy, j) * acc[j]
                acc[j] = 0.0


class Coefficients(NamedTuple):
    """v = α·q + β·m, shift·q and the intercept b, as the lazy steps go"""

    alpha: float
    beta: float
    sq: float
    b: float


@fast
def lazy_offset(c, sm, fold):
    """b − shift·v + y_shift for v = α·q + β·m"""
    return c.b - c.alpha * c.sq - c.beta * sm + fold.y_shift


@fast
def lazy_residual(rows, i, lazy, c, offset, shift):
    """x_i·v + offset − y_i for v = α·q + β·m (x_i·m read by ``shift`` from ``lazy.xm``: a second sum over the row in
    the step's loop would make it several times slower). Summed as α·(x_i·q) + (offset + β·x_i·m − y_i): the
    terms that do not wait for q are added apart, so one multiply-add stands between the dot product and the
    residual on the path from one step to the next (the steps chain through q where rows share columns)"""
    return c.alpha * row_dot(rows, i, lazy.q) + (offset + c.beta * shift(lazy, i) - rows.y[i])


@fast
def lazy_decay(A, B, penalty):
    """the factor a step of the rule's affine form rule(p, g) = A·p + B·g puts on v: A + B·l2"""
    return A + B * penalty.l2


def no_decay(A, B, penalty):
    """``lazy_decay`` without an L2 penalty, for plain SGD (A = 1 exactly: see ``lazy_applies``)"""
    return 1.0


def in_order(rows, k):
    """the k-th row of an epoch in row order"""
    return k


def unit_weight(wts, i):
    """w̃ᵢ of an unweighted fit"""
    return 1.0


def all_move(A, B, decay, f, gsum, c, fold, dsq):
    """the coefficients after a step of the rule's affine form rule(p, g) = A·p + B·g applied to v = α·q + β·m
    (the penalty's ``decay``, and the shift term) and to the intercept b (gradient f·Σg; none without an
    intercept); shift·q moves by ``dsq``"""
    b = A * c.b + B * (f * gsum) * (1.0 if fold.fit_intercept else 0.0)
    return Coefficients(c.alpha * decay, c.beta * decay - B * f * gsum, c.sq + dsq, b)


def alpha_moves(A, B, decay, f, gsum, c, fold, dsq):
    """``all_move`` without a shift or an intercept: m = 0 and shift = 0, so β·m, shift·q and b stay 0 and only
    α moves"""
    return Coefficients(c.alpha * decay, c.beta, c.sq, c.b)


@fast
def lazy_samples(rows, first, stop_row, fold, penalty, s, t, A, B, deriv, lazy, c, sm, wts, read):
    """per-sample lazy steps on rows order[first:stop_row]; returns (t, coefficients). 1/α is carried by the
    decay's inverse, not divided each step (a division on the path from one step to the next made the steps 8%
    slower): within the chunk it drifts from 1/α by a few ulps a step, at most CHUNK_STEPS."""
    decay = read.decay(A, B, penalty)
    inv_decay, inv = 1.0 / decay, 1.0 / c.alpha
    for kk in range(first, stop_row):
        i = read.row(rows, kk)
        g = deriv(lazy_residual(rows, i, lazy, c, lazy_offset(c, sm, fold), read.shift), s.loss) * read.weight(wts, i)
        t += 1
        inv *= inv_decay
        change = (B * inv) * g  # B·(1/α) off the path from the residual to the step
        lazy_row_update(rows, i, lazy, change, read.scale)
        c = read.move(A, B, decay, 1.0, g, c, fold, change * read.shift(lazy, i))
    return t, c


@fast
def lazy_batches(rows, first, stop_row, fold, penalty, s, t, A, B, deriv, lazy, c, sm, acc, wts, read):
    """minibatch lazy steps on rows order[first:stop_row] (whole batches); returns (t, coefficients)"""
    decay = read.decay(A, B, penalty)
    for start in range(first, stop_row, rows.batch_size):
        stop = min(start + rows.batch_size, stop_row)
        offset = lazy_offset(c, sm, fold)
        gsum, gm = 0.0, 0.0
        for kk in range(start, stop):
            i = read.row(rows, kk)
            g = deriv(lazy_residual(rows, i, lazy, c, offset, read.shift), s.loss) * read.weight(wts, i)
            gsum += g
            gm += g * read.shift(lazy, i)
            add_row(rows, i, g, acc)
        t += 1
        f = 1.0 / (stop - start)
        change = B * f / (c.alpha * decay)
        lazy_acc_update(rows, start, stop, lazy, change, acc, read)
        c = read.move(A, B, decay, f, gsum, c, fold, change * gm)
    return t, c


@fast
def fold_alpha(lazy, c, fold):
    """α folded into q (q ← α·q, α = 1: v = α·q + β·m keeps its value) once it is below RESCALE_BELOW"""
    if abs(c.alpha) >= RESCALE_BELOW:
        return c
    for j in range(lazy.q.shape[0]):
        lazy.q[j] *= c.alpha
    return Coefficients(1.0, c.beta, shift_dot(fold.shift, lazy.q), c.b)


@fast
def lazy_steps(rows, stop_row, fold, penalty, s, t, scalars, rule, gather, deriv, lazy, acc, wts, read):
    """the steps of rows order[0:stop_row] (whole batches), touching only their nonzeros; θ written at the end"""
    q, m, d = lazy.q, lazy.m, lazy.q.shape[0]
    for j in range(d):
        q[j] = s.theta[j] * fold.inv_scale[j]
    sm = shift_dot(fold.shift, m)
    c = Coefficients(1.0, 0.0, shift_dot(fold.shift, q), s.theta[d] if fold.fit_intercept else 0.0)
    chunk = CHUNK_STEPS * rows.batch_size  # rows between checks of α: the per-step loops carry no rare branch
    for first in range(0, stop_row, chunk):
        stop = min(first + chunk, stop_row)
        A, B = affine_coefficients(rule, gather, lazy, s, scalars(s.hyper, t + 1, s.lr))  # the same every step
        if rows.batch_size == 1:
            t, c = lazy_samples(rows, first, stop, fold, penalty, s, t, A, B, deriv, lazy, c, sm, wts, read)
        else:
            t, c = lazy_batches(rows, first, stop, fold, penalty, s, t, A, B, deriv, lazy, c, sm, acc, wts, read)
        c = fold_alpha(lazy, c, fold)
    for j in range(d):
        s.theta[j] = (c.alpha * q[j] + c.beta * m[j]) / fold.inv_scale[j]
    if fold.fit_intercept:
        s.theta[d] = c.b
    return t


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


@loop
def row_products(rows, v):
    """x_i·v of every row"""
    out = np.empty(rows.y.shape[0])
    for i in range(out.shape[0]):
        out[i] = row_dot(rows, i, v)
    return out


def lazy_applies(optimizer, penalty: Penalty, descent: Descent) -> bool:
    """whether lazy steps make this optimizer's steps: SGD without momentum (a rule affine in (p, g) that reads no
    slot, with scalars that do not change from step to step: its coefficients are read once per chunk), no L1
    part, no average, and a penalty's decay 1 − lr·l2 of at least ½ (see CHUNK_STEPS)"""
    return (optimizer.name == "sgd" and getattr(optimizer.hyper, "momentum", 1.0) == 0.0 and penalty.l1 == 0.0
            and descent.average_from < 0 and descent.lr * penalty.l2 <= 0.5)


def lazy_arrays(rows: CsrRows, fold: Fold, slots: int, use_lazy: bool) -> Lazy:
    """the lazy steps' arrays for this preprocessing (x_i·m of every row, where there is a shift: one read of the
    nonzeros), for an optimizer of ``slots`` slots; q is scratch, written from θ at each epoch's start"""
    inv2 = fold.inv_scale * fold.inv_scale
    m = fold.shift * inv2
    xm = row_products(rows, m) if use_lazy and m.any() else np.empty(0)
    if (inv2 == 1.0).all():  # no scaling (always so for data too wide for statistics)
        return Lazy(np.empty_like(inv2), m, xm, np.empty(0), np.zeros((slots, 1)))
    pairs = np.empty((len(inv2), 2))  # q_j beside inv_scale_j²: the step reads both, one cache line
    pairs[:, 1] = inv2
    return Lazy(pairs[:, 0], m, xm, pairs[:, 1], np.zeros((slots, 1)))


def readers(lazy: Lazy, fold: Fold, penalty: Penalty, rows: CsrRows, weights: RowWeights = UNWEIGHTED) -> Readers:
    """the compiled readers of the lazy steps for these lazy arrays, penalty, order and weights"""
    shifted = bool(lazy.xm.size)
    return Readers(compiled(column_scale if lazy.inv2.size else unit_scale), compiled(row_shift if shifted else no_shift),
                   compiled(all_move if shifted or fold.fit_intercept else alpha_moves),
                   compiled(lazy_decay.py_func if penalty.l2 else no_decay),
                   compiled(row_of.py_func if rows.shuffled else in_order),
                   compiled(weight.py_func if weights.weighted else unit_weight))


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

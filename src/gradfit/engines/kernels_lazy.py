"""The sparse kernels' lazy steps (Numba): plain SGD touching only each batch's nonzeros.

Where the rule is affine in (p, g) and reads no slot (SGD without momentum), without an L1 part or averaging
(``lazy_applies``), v is kept as α·q + β·m (m = shift·inv_scale², fixed): the penalty's decay and the shift
term are two scalars and only the batch's nonzero coordinates of q change, O(nnz(batch)), like scikit-learn's
SGDRegressor (its ``wscale``). The rule's coefficients come from the rule itself: A = rule(1, 0) − rule(0, 0),
B = rule(0, 1) − rule(0, 0). What a step reads and moves is chosen once per fit as compiled functions
(``Readers``). ``kernels_sparse.epoch`` runs them, then one general step for the last batch.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .csr import UNWEIGHTED, CsrRows, RowWeights, add_row, column, row_dot, row_of, row_products, span
from .kernels import Descent, Fold, Penalty, compiled, fast, shift_dot, weight

__all__ = ["Lazy", "Readers", "lazy_steps", "lazy_applies", "lazy_arrays", "readers", "RESCALE_BELOW",
           "CHUNK_STEPS"]

#: α (the common factor of the lazy coefficients) is folded back into q when it falls below this
RESCALE_BELOW = 1e-9
#: lazy steps between checks of α; the penalty's decay per step is at least ½ (``lazy_applies``), so α stays
#: above RESCALE_BELOW·2⁻²⁵⁶ ≈ 1e-86 between checks. A check inside the per-step loop makes it 3× slower.
CHUNK_STEPS = 256


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
    return Readers(compiled(column_scale if lazy.inv2.size else unit_scale),
                   compiled(row_shift if shifted else no_shift),
                   compiled(all_move if shifted or fold.fit_intercept else alpha_moves),
                   compiled(lazy_decay.py_func if penalty.l2 else no_decay),
                   compiled(row_of.py_func if rows.shuffled else in_order),
                   compiled(weight.py_func if weights.weighted else unit_weight))

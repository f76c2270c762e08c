"""Compiled epoch kernels (Numba): one minibatch or per-sample epoch of any gradfit optimizer and loss.

``run_epoch`` walks the rows of X in the epoch's order, batch by batch, and for each batch makes exactly
the step of the generic training loop: the loss's derivative at each row's residual (preprocessing
x̃ = (x − shift)·inv_scale applied on the fly, X is never copied), times the row's weight in a weighted
fit (``gradfit.descent.weights``), the gradient over the batch plus the L2 gradient, the optimizer's rule,
the L1 proximal step, and the running average of the iterates when asked. The optimizer's rule
(``gradfit.descent.optim``) and the loss's derivative (``gradfit.descent.losses``) are the very functions
the other engines apply to whole vectors, compiled here as they are and applied to one coordinate (one
row) at a time.

A step is the loss's derivative g_i at the batch's rows (x·v), then one vectorized pass over the
coordinates (gradient, rule, L1 proximal step, v = w·inv_scale; the average apart). The epoch loop is
compiled once per (rule, derivative) pair, so a step carries no dispatch. Its inputs are a few named
tuples (``Rows``, ``Fold``, ``Penalty``, ``Descent``), so adding a field breaks no call. A shuffled epoch
hints the memory ``PREFETCH_ROWS`` rows ahead, for each row and its target y_i alike. Per-sample steps of
plain SGD take ``plain_sgd_epoch`` instead, the same steps kept in the data's units (one loop over the
coordinates a row, no per-step pass over the descent's units).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..descent.model import soft_threshold
from ..descent.optim import sgd_rule
from .jit_cache import compiling, jit

__all__ = ["Rows", "Fold", "Penalty", "Descent", "run_epoch"]

#: a shuffled epoch asks the memory for the row this many steps ahead while it works on the current one
PREFETCH_ROWS = 16

#: let LLVM reorder sums into SIMD lanes (and fuse multiply-adds); no assumptions about NaN or inf
FAST = {"reassoc", "contract"}

#: decorator of the kernels' inlined helpers (inlined code takes the flags of its caller)
fast = jit(fastmath=FAST, error_model="numpy", inline="always")


class Rows(NamedTuple):
    """the data and the epoch's order: batches of ``batch_size`` rows of ``order`` (row order when not shuffled);
    ``w``: the rows' weights w̃ when ``weighted`` (else empty)"""

    X: np.ndarray
    y: np.ndarray
    order: np.ndarray
    shuffled: bool
    batch_size: int
    w: np.ndarray = np.empty(0)
    weighted: bool = False


class Fold(NamedTuple):
    """the preprocessing folded into the parameters: x̃ = (x − shift)·inv_scale, ỹ = y − y_shift"""

    shift: np.ndarray
    inv_scale: np.ndarray
    y_shift: float
    fit_intercept: bool


class Penalty(NamedTuple):
    """½·l2·‖w‖² (in the gradient) and l1·‖w‖₁ (a proximal step); never on the intercept"""

    l2: float
    l1: float


class Descent(NamedTuple):
    """the parameters and everything the steps change or read, updated in place

    ``slots``: the optimizer's state slots as rows (k × p); ``avg``: the average of the
    iterates after step ``average_from`` (untouched when ``average_from`` < 0).
    """

    theta: np.ndarray
    slots: np.ndarray
    avg: np.ndarray
    average_from: int
    hyper: Any  # the optimizer's NamedTuple of hyperparameters
    lr: float
    loss: Any  # the loss's LossParams


# the slot values of coordinate j as a tuple, and back; one function per slot count (Numba needs a tuple's
# length at compile time, and a loop over a tuple's items keeps the update loop from being vectorized);
# ``run_epoch`` picks the pair of the optimizer's slot count
def gather1(slots, j):
    return (slots[0, j],)


def gather2(slots, j):
    return (slots[0, j], slots[1, j])


def gather3(slots, j):
    return (slots[0, j], slots[1, j], slots[2, j])


def scatter1(slots, j, values):
    slots[0, j] = values[0]


def scatter2(slots, j, values):
    slots[0, j], slots[1, j] = values


def scatter3(slots, j, values):
    slots[0, j], slots[1, j], slots[2, j] = values


_COMPILED: dict = {}

#: the L1 proximal step (``model.soft_threshold``), compiled
shrink = fast(soft_threshold)


def compiled(fn: Callable):
    """``fn`` (an optimizer rule, a loss derivative, the average) compiled for the kernels, once

    The dispatcher gets an identity named after the function, the same in every process:
    Numba's on-disk cache of ``epoch`` keys its entries by the compiled functions it was
    given, and finds them again by that identity (a random one would miss, and fail).
    """
    if fn not in _COMPILED:
        dispatcher = fast(fn)
        dispatcher._set_uuid(f"gradfit.engines.kernels.compiled:{fn.__module__}.{fn.__qualname__}")
        _COMPILED[fn] = dispatcher
    return _COMPILED[fn]


@intrinsic
def prefetch(typingctx, address):
    """LLVM's prefetch hint (read, keep in all cache levels) for the byte at ``address``"""

    def codegen(context, builder, signature, args):
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.inttoptr(args[0], i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(types.intp), codegen


@jit(error_model="numpy", inline="always")
def prefetch_lines(address, nbytes):
    """hint each 64-byte cache line of the ``nbytes`` bytes at ``address``, each line once"""
    for line in range(address & -64, address + nbytes, 64):
        prefetch(line)


@jit(error_model="numpy", inline="always")
def row_addresses(X, y):
    """where the rows are, for ``prefetch_row``: (X's address, its row stride, a row's bytes, y's address, its stride),
    taken once per epoch. The prefetch takes numbers, no array: y and the order handed to an inlined helper in the
    loop took and dropped a reference each row, four locked (atomic) operations on their reference counts, which
    were a third of the samples of a shuffled epoch (``perf record``) and made a minibatch epoch 15–20% slower"""
    return X.ctypes.data, X.strides[0], X.shape[1] * X.itemsize, y.ctypes.data, y.strides[0]


@jit(error_model="numpy", inline="always")
def prefetch_row(at, i):
    """hint each cache line of row i and its target y[i] (``at``: ``row_addresses``)

    Random reads then overlap. The target matters as much as the row: y (16 MB at the
    reference size) falls out of the caches while X streams through, and an unhinted
    y[i] is a cache miss on the path of every residual.
    """
    prefetch_lines(at[0] + i * at[1], at[2])
    prefetch(at[3] + i * at[4])


@fast
def residual(X, y, i, v, offset):
    """r = x_i·v + offset − y_i"""
    r = 0.0
    for j in range(X.shape[1]):
        r += X[i, j] * v[j]
    return r + offset - y[i]


@fast
def weight(rows, i):
    """row i's weight w̃ᵢ (1 when unweighted)"""
    return rows.w[i] if rows.weighted else 1.0


@fast
def batch_xtg(rows, at, start, stop, v, offset, deriv, lp, g, acc):
    """acc ← Σ x_i·g_i over the batch's rows, g_i the loss's derivative at r_i (times w̃ᵢ); returns Σ g_i
    (residuals first: independent dot products; ``at``: ``row_addresses``)"""
    X, y, order = rows.X, rows.y, rows.order
    gsum = 0.0
    for k in range(start, stop):
        i = k
        if rows.shuffled:
            if k + PREFETCH_ROWS < order.shape[0]:
                prefetch_row(at, order[k + PREFETCH_ROWS])
            i = order[k]
        g[k - start] = deriv(residual(X, y, i, v, offset), lp) * weight(rows, i)
        gsum += g[k - start]
    acc[:] = 0.0
    for k in range(start, stop):
        i = order[k] if rows.shuffled else k
        for j in range(X.shape[1]):
            acc[j] += X[i, j] * g[k - start]
    return gsum


@fast
def coordinate_gradient(xtg, gsum, f, shift, inv_scale, l2, w):
    """∂/∂w_j of the batch's mean loss plus ½·l2·‖w‖², from coordinate j's values: ((Xᵀg)_j − shift_j·Σg)·
    inv_scale_j·f + l2·w_j (f = 1 / the batch's rows); the dense and the sparse kernels' one form of it"""
    return (xtg - shift * gsum) * inv_scale * f + l2 * w


@fast
def shift_dot(shift, x):
    """shift·x, summed in a loop that writes nothing.

    Where a vectorized loop also writes an array, LLVM guards it with a run-time check that the arrays it writes
    and reads lie at least one step of the vector loop apart (VF·UF elements), and runs the scalar loop where
    they do not. Distinct arrays of that many elements always pass; but a loop of fewer coordinates runs a short
    vector epilogue behind the same check, so for a few coordinates the check fell either way with where malloc
    had put the work array v, and a sum carried by the loop was added in another order (the kernels allow
    reassociation): ``raw_params`` took shift·v so, and two fits of the same data in one process differed in the
    last bits (a CI run failed on it). A loop that only reads is vectorized the same way wherever its arrays lie.
    ``tests/test_kernel_ir.py`` holds every compiled kernel to this.
    """
    total = 0.0
    for j in range(x.shape[0]):
        total += shift[j] * x[j]
    return total


@fast
def raw_params(theta, fold, v):
    """v ← w·inv_scale; returns the raw offset b − shift·v + y_shift"""
    for j in range(v.shape[0]):
        v[j] = theta[j] * fold.inv_scale[j]
    return (theta[v.shape[0]] if fold.fit_intercept else 0.0) - shift_dot(fold.shift, v) + fold.y_shift


@fast
def update_coord(j, g, theta, slots, hyper, k, rule, gather, scatter):
    """coordinate j of theta after the optimizer's rule (with step scalars k), its slots updated; returns it"""
    w, new = rule(theta[j], g, gather(slots, j), hyper, k)
    scatter(slots, j, new)
    return w


@fast
def update_weights(X, i, single, acc, gsum, f, fold, penalty, s, k, rule, gather, scatter, v, theta, slots):
    """the coefficients' step in one pass: gradient ((Xᵀg − shift·Σg)·inv_scale·f + l2·w), the rule, the L1
    prox and v = w·inv_scale; returns shift·v (the average, when asked, is the epoch's own loop: a loop on
    ``avg`` here, in a branch, made the inlined helper take and drop references to three arrays each step)

    Written so that LLVM vectorizes the pass (per-sample SGD −30% CPU, Adam −30%): the arrays are taken out
    of their named tuples first (read through a tuple, a store to theta might move what the tuple points
    to), the rule is called in the loop itself (through an inlined helper it stayed a call), a single
    row's x_i·g goes to ``acc`` first, and the one branch left inside the loop is invariant (whether there is
    an L1 prox: LLVM unswitches it, and a fit without L1 skips the prox, −20% CPU per-sample).

    The sum shift·v rides in the same loop: LLVM vectorizes it only from VF·UF coordinates on, with no short
    epilogue, so its alias check cannot fail for distinct arrays and the sum has one order wherever they lie
    (``shift_dot`` says why that matters; ``tests/test_kernel_ir.py`` fails if an epilogue appears). A second
    loop for the sum would take and drop references to the step's arrays every step.
    """
    shift, inv_scale, hyper = fold.shift, fold.inv_scale, s.hyper
    l2, threshold = penalty.l2, s.lr * penalty.l1
    shrinking = threshold > 0.0  # invariant: LLVM makes two loops of it, and the one without L1 skips the prox
    if single:
        for j in range(v.shape[0]):
            acc[j] = X[i, j] * gsum
    off = 0.0
    for j in range(v.shape[0]):
        g = coordinate_gradient(acc[j], gsum, f, shift[j], inv_scale[j], l2, theta[j])
        w, new = rule(theta[j], g, gather(slots, j), hyper, k)
        scatter(slots, j, new)
        if shrinking:
            w = shrink(w, threshold)
        theta[j] = w
        v[j] = w * inv_scale[j]
        off += shift[j] * v[j]
    return off


# inlined helpers take the flags of the function they land in, so the loop itself needs FAST; the epoch
# releases the GIL, so the next epoch's order is drawn meanwhile (``gradfit.descent.batching.EpochOrders``)
@jit(fastmath=FAST, error_model="numpy", nogil=True)
def epoch(rows, fold, penalty, s, t, scalars, rule, gather, scatter, deriv, average):
    """``run_epoch`` with the compiled step scalars, rule, slot gatherer and scatterer, loss derivative and average"""
    X, y, order, batch_size = rows.X, rows.y, rows.order, rows.batch_size
    n, d = X.shape
    acc, g, v = np.zeros(d), np.empty(min(batch_size, n)), np.empty(d)
    at = row_addresses(X, y)
    theta, slots, avg = s.theta, s.slots, s.avg
    offset = raw_params(s.theta, fold, v)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        i = order[start] if rows.shuffled else start
        single = stop - start == 1
        if single:
            if rows.shuffled and start + PREFETCH_ROWS < n:
                prefetch_row(at, order[start + PREFETCH_ROWS])
            gsum = deriv(residual(X, y, i, v, offset), s.loss) * weight(rows, i)
        else:
            gsum = batch_xtg(rows, at, start, stop, v, offset, deriv, s.loss, g, acc)
        t += 1
        k = scalars(s.hyper, t, s.lr)
        f = 1.0 / (stop - start)
        off = update_weights(X, i, single, acc, gsum, f, fold, penalty, s, k, rule, gather, scatter, v, theta, slots)
        if s.average_from >= 0:
            for j in range(d):
                avg[j] = average(avg[j], theta[j], t, s.average_from)
        if fold.fit_intercept:
            s.theta[d] = update_coord(d, gsum * f, s.theta, s.slots, s.hyper, k, rule, gather, scatter)
            if s.average_from >= 0:
                s.avg[d] = average(s.avg[d], s.theta[d], t, s.average_from)
        offset = (s.theta[d] if fold.fit_intercept else 0.0) - off + fold.y_shift
    return t


@jit(fastmath=FAST, error_model="numpy", nogil=True)
def plain_sgd_epoch(rows, fold, s, t, deriv):
    """``epoch`` for per-sample steps of plain SGD (no momentum, penalty or average), kept in the data's units.

    The general step updates w (the descent's units) and derives v = w·inv_scale and the raw offset
    b − shift·v + y_shift from it, every coordinate every step. Here v is the state: the residual is
    (x − shift)·v + b + y_shift − y, and a step of size λ = lr·g moves vⱼ by −λ·(xⱼ − shiftⱼ)·inv_scaleⱼ²
    and b by −λ (nothing without an intercept). The same steps, rounded differently; w is v/inv_scale at
    the end, and the momentum slots hold the last step's gradient, as the general step leaves them.

    One loop over the coordinates per row: it applies the previous row's step to vⱼ, keeps this row's
    (xⱼ − shiftⱼ)·inv_scaleⱼ² for the next step, and sums this row's dot product with the vⱼ just written (v
    read and written once a row, not once for the dot product and again for the step: 5% of the epoch at
    10⁶ × 50). The step is applied one row late, so the loop is followed by the last row's.
    """
    X, y, order = rows.X, rows.y, rows.order
    n, d = X.shape
    theta, slots, lr, inv_scale, shift = s.theta, s.slots, s.lr, fold.inv_scale, fold.shift
    v, s2, pending = np.empty(d), np.empty(d), np.zeros(d)  # pending: the last row's (x − shift)·inv_scale²
    at = row_addresses(X, y)
    for j in range(d):
        s2[j] = inv_scale[j] * inv_scale[j]
        v[j] = theta[j] * inv_scale[j]
    moves = 1.0 if fold.fit_intercept else 0.0
    b = theta[d] if fold.fit_intercept else 0.0
    i, g, step = 0, 0.0, 0.0
    for k in range(n):
        i = k
        if rows.shuffled:
            if k + PREFETCH_ROWS < order.shape[0]:
                prefetch_row(at, order[k + PREFETCH_ROWS])
            i = order[k]
        p = 0.0
        for j in range(d):
            vj = v[j] - step * pending[j]
            v[j] = vj
            xj = X[i, j] - shift[j]
            pending[j] = xj * s2[j]
            p += xj * vj
        b -= step * moves
        g = deriv(p + b + fold.y_shift - y[i], s.loss) * weight(rows, i)
        step = lr * g
    if n > 0:
        for j in range(d):
            theta[j] = (v[j] - step * pending[j]) / inv_scale[j]
            slots[0, j] = coordinate_gradient(X[i, j] * g, g, 1.0, shift[j], inv_scale[j], 0.0, theta[j])
        if fold.fit_intercept:
            theta[d] = b - step * moves
            slots[0, d] = g
    return t + n


def plain_sgd(rows: Rows, fold: Fold, penalty: Penalty, descent: Descent, optimizer) -> bool:
    """whether an epoch is per-sample steps of plain SGD: no momentum, no penalty, no average, every column
    scaled (``plain_sgd_epoch`` takes it)"""
    return (rows.batch_size == 1 and optimizer.rule is sgd_rule and descent.hyper.momentum == 0.0
            and penalty.l1 == 0.0 and penalty.l2 == 0.0 and descent.average_from < 0
            and bool(np.all(fold.inv_scale != 0.0)))


def run_epoch(rows: Rows, fold: Fold, penalty: Penalty, descent: Descent, t: int, optimizer, deriv: Callable,
              average: Callable) -> int:
    """one epoch of steps from step count t, on descent's arrays in place; returns the step count afterwards

    ``optimizer``'s scalars and rule, ``deriv`` and ``average`` are the plain Python functions
    of ``gradfit.descent.optim`` and ``gradfit.descent.losses``; they are compiled here (once each).
    """
    if plain_sgd(rows, fold, penalty, descent, optimizer):
        return compiling(plain_sgd_epoch)(rows, fold, descent, t, compiled(deriv))
    gather = compiled((gather1, gather2, gather3)[descent.slots.shape[0] - 1])
    scatter = compiled((scatter1, scatter2, scatter3)[descent.slots.shape[0] - 1])
    return compiling(epoch)(rows, fold, penalty, descent, t, compiled(optimizer.scalars), compiled(optimizer.rule),
                            gather, scatter, compiled(deriv), compiled(average))

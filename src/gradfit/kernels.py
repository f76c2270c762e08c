"""Compiled epoch kernels (Numba): one minibatch or per-sample epoch of any gradfit optimizer.

``run_epoch`` walks the rows of X in the epoch's order, batch by batch, and for each
batch makes exactly the step of the generic training loop: the gradient of the data
loss over the batch (preprocessing x̃ = (x − shift)·inv_scale applied on the fly, X is
never copied), plus the L2 gradient, the optimizer's update (``gradfit.kernels_optim``),
and the L1 proximal step. ``gradfit.kernels_ref`` is its plain NumPy twin, which the
tests compare it with.

A step is two passes over the coordinates: the residuals of the batch's rows (x·v), then
one fused pass that forms each coordinate's gradient, updates it, soft-thresholds it and
refreshes v = w·inv_scale. The epoch loop is compiled once per optimizer (its update is
an argument, fixed at compile time), so a step carries no dispatch. Optimizer state
travels in ``slots`` (2 × p: momentum buffer, or Adam's m and v, or the squared-gradient
accumulator) and ``hyper`` (see ``HYPER``). A shuffled epoch hints the memory
``PREFETCH_ROWS`` rows ahead, for each row and its target y_i alike.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import kernels_optim as opt
from .kernels_optim import ADAGRAD, ADAM, FAST, HYPER, MOMENTUM, RMSPROP, SGD, fast

__all__ = ["ADAGRAD", "ADAM", "HYPER", "MOMENTUM", "RMSPROP", "SGD", "run_epoch"]

#: a shuffled epoch asks the memory for the row this many steps ahead while it works on the current one
PREFETCH_ROWS = 16


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


@njit(cache=True, error_model="numpy", inline="always")
def prefetch_lines(address, nbytes):
    """hint each 64-byte cache line of the ``nbytes`` bytes at ``address``, each line once"""
    for line in range(address & -64, address + nbytes, 64):
        prefetch(line)


@njit(cache=True, error_model="numpy", inline="always")
def prefetch_row(X, y, order, k):
    """hint each cache line of row order[k] and its target y[order[k]], where k is inside the order

    Random reads then overlap. The target matters as much as the row: y (16 MB at the
    reference size) falls out of the caches while X streams through, and an unhinted
    y[i] is a cache miss on the path of every residual.
    """
    if k < order.shape[0]:
        i = order[k]
        prefetch_lines(X.ctypes.data + i * X.strides[0], X.shape[1] * X.itemsize)
        prefetch(y.ctypes.data + i * y.strides[0])


@fast
def residual(X, y, i, v, offset):
    """r = x_i·v + offset − y_i"""
    r = 0.0
    for j in range(X.shape[1]):
        r += X[i, j] * v[j]
    return r + offset - y[i]


@fast
def batch_xtr(X, y, order, shuffled, start, stop, v, offset, r, acc):
    """acc ← Σ x_i·r_i over the batch's rows; returns Σ r_i (residuals first: independent dot products)"""
    rsum = 0.0
    for k in range(start, stop):
        i = k
        if shuffled:
            prefetch_row(X, y, order, k + PREFETCH_ROWS)
            i = order[k]
        r[k - start] = residual(X, y, i, v, offset)
        rsum += r[k - start]
    acc[:] = 0.0
    for k in range(start, stop):
        i = order[k] if shuffled else k
        for j in range(X.shape[1]):
            acc[j] += X[i, j] * r[k - start]
    return rsum


@fast
def raw_params(theta, inv_scale, shift, y_shift, fit_intercept, v):
    """v ← w·inv_scale; returns the raw offset b − shift·v + y_shift"""
    off = 0.0
    for j in range(v.shape[0]):
        v[j] = theta[j] * inv_scale[j]
        off += shift[j] * v[j]
    return (theta[v.shape[0]] if fit_intercept else 0.0) - off + y_shift


@fast
def update_weights(X, i, single, acc, rsum, f, shift, inv_scale, l2, threshold, theta, slots, hyper, step,
                   root, fresh, coord, v):
    """one fused pass over w: gradient ((Xᵀr − shift·Σr)·inv_scale·f + l2·w), update, L1 prox, v; returns shift·v"""
    off = 0.0
    for j in range(v.shape[0]):
        xtr = X[i, j] * rsum if single else acc[j]
        g = (xtr - shift[j] * rsum) * inv_scale[j] * f + l2 * theta[j]
        w = coord(theta[j], g, slots, j, hyper, step, root, fresh)
        w = w - min(max(w, -threshold), threshold)  # soft threshold; the identity when threshold = 0
        theta[j] = w
        v[j] = w * inv_scale[j]
        off += shift[j] * v[j]
    return off


# inlined helpers take the flags of the function they land in, so the loop itself needs FAST
@njit(cache=True, fastmath=FAST, error_model="numpy")
def epoch(args, scalars, coord):
    """``run_epoch`` for one optimizer: ``args`` are run_epoch's arguments less ``code``, then its update pair"""
    X, y, order, shuffled, batch_size, theta, slots, t, fresh, hyper, lr, l2, l1, c, shift, inv_scale, y_shift, \
        fit_intercept = args
    n, d = X.shape
    acc, r, v = np.zeros(d), np.empty(min(batch_size, n)), np.empty(d)
    offset = raw_params(theta, inv_scale, shift, y_shift, fit_intercept, v)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        i = order[start] if shuffled else start
        single = stop - start == 1
        if single:
            if shuffled:
                prefetch_row(X, y, order, start + PREFETCH_ROWS)
            rsum = residual(X, y, i, v, offset)
        else:
            rsum = batch_xtr(X, y, order, shuffled, start, stop, v, offset, r, acc)
        t += 1
        step, root = scalars(t, hyper, lr)
        f = c / (stop - start)
        off = update_weights(X, i, single, acc, rsum, f, shift, inv_scale, l2, lr * l1, theta, slots, hyper,
                             step, root, fresh, coord, v)
        if fit_intercept:
            theta[d] = coord(theta[d], rsum * f, slots, d, hyper, step, root, fresh)
        offset = (theta[d] if fit_intercept else 0.0) - off + y_shift
        fresh = False
    return t


@njit(cache=True, fastmath=FAST, error_model="numpy")
def run_epoch(X, y, order, shuffled, batch_size, theta, slots, t, fresh, code, hyper,
              lr, l2, l1, c, shift, inv_scale, y_shift, fit_intercept):
    """one epoch of steps on theta, slots in place; returns the step count t afterwards.

    Per batch: the residuals of its rows, then one fused pass over the coordinates
    (gradient with its L2 term, the update of optimizer ``code``, the L1 prox, and
    v = w·inv_scale for the next batch). The optimizer is chosen here, once per epoch.
    """
    args = (X, y, order, shuffled, batch_size, theta, slots, t, fresh, hyper, lr, l2, l1, c, shift, inv_scale,
            y_shift, fit_intercept)
    if code == SGD:
        return epoch(args, opt.plain_scalars, opt.sgd_coord)
    if code == MOMENTUM:
        return epoch(args, opt.plain_scalars, opt.momentum_coord)
    if code == ADAM:
        return epoch(args, opt.adam_scalars, opt.adam_coord)
    if code == ADAGRAD:
        return epoch(args, opt.adagrad_scalars, opt.adagrad_coord)
    return epoch(args, opt.plain_scalars, opt.rmsprop_coord)

"""Compiled epoch kernels (Numba): one minibatch or per-sample epoch of any gradfit optimizer.

``run_epoch`` walks the rows of X in the epoch's order, batch by batch, and for each
batch makes exactly the step of the generic training loop: the gradient of the data
loss over the batch (preprocessing x̃ = (x − shift)·inv_scale applied on the fly, X is
never copied), plus the L2 gradient, the optimizer's update (formulas of
``gradfit.optim``), and the L1 proximal step. ``gradfit.kernels_ref`` is its plain
NumPy twin, which the tests compare it with.

Optimizer state travels in ``slots`` (2 × p: momentum buffer, or Adam's m and v, or
the squared-gradient accumulator) and ``hyper`` (see ``HYPER``).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: optimizer codes understood by the kernels
SGD, MOMENTUM, ADAM, ADAGRAD, RMSPROP = range(5)

#: layout of the ``hyper`` vector
HYPER = ("momentum", "dampening", "nesterov", "beta1", "beta2", "eps", "lr_decay", "rho")


#: let LLVM reorder sums into SIMD lanes (and fuse multiply-adds); no assumptions about NaN or inf
FAST = {"reassoc", "contract"}


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
def prefetch_row(X, order, k):
    """hint the cache lines of row order[k + PREFETCH_ROWS] (random reads then overlap)"""
    ahead = k + PREFETCH_ROWS
    if ahead < order.shape[0]:
        address, size = X.ctypes.data + order[ahead] * X.strides[0], X.shape[1] * X.itemsize
        for offset in range(0, size, 64):
            prefetch(address + offset)
        prefetch(address + size - 1)


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def residual(X, y, i, v, offset):
    """r = x_i·v + offset − y_i"""
    r = 0.0
    for j in range(X.shape[1]):
        r += X[i, j] * v[j]
    return r + offset - y[i]


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def batch_xtr(X, y, order, shuffled, start, stop, v, offset, acc):
    """acc ← Σ x_i·r_i over the batch's rows; returns Σ r_i"""
    acc[:] = 0.0
    rsum = 0.0
    for k in range(start, stop):
        i = k
        if shuffled:
            prefetch_row(X, order, k)
            i = order[k]
        r = residual(X, y, i, v, offset)
        rsum += r
        for j in range(X.shape[1]):
            acc[j] += X[i, j] * r
    return rsum


@njit(cache=True, error_model="numpy", inline="always")
def step_scalars(code, t, hyper, lr):
    """(step size, √(1−β₂ᵗ)) of step t: Adam's bias corrections, Adagrad's decayed rate"""
    if code == ADAM:
        return lr / (1.0 - hyper[3] ** t), math.sqrt(1.0 - hyper[4] ** t)
    if code == ADAGRAD:
        return lr / (1.0 + (t - 1) * hyper[6]), 1.0
    return lr, 1.0


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def finish_grad(X, i, single, acc, rsum, f, shift, inv_scale, l2, theta, grad):
    """grad ← ((Xᵀr − shift·Σr)·inv_scale)·c/m + l2·w, then the intercept's Σr·c/m"""
    d = X.shape[1]
    for j in range(d):
        xtr = X[i, j] * rsum if single else acc[j]
        grad[j] = (xtr - shift[j] * rsum) * inv_scale[j] * f + l2 * theta[j]
    if grad.shape[0] > d:
        grad[d] = rsum * f


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def momentum_update(theta, grad, slots, fresh, hyper, step):
    """torch SGD with momentum (and Nesterov) on theta in place"""
    mu, keep = hyper[0], 1.0 - hyper[1]
    for j in range(theta.shape[0]):
        g = grad[j]
        b = g * 1.0 if fresh else mu * slots[0, j] + keep * g
        slots[0, j] = b
        theta[j] += -step * (g + mu * b if hyper[2] != 0.0 else b)


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def adam_update(theta, grad, slots, hyper, step, root):
    """torch Adam (bias corrections folded into step and root) on theta in place"""
    for j in range(theta.shape[0]):
        g = grad[j]
        m = slots[0, j] + (1.0 - hyper[3]) * (g - slots[0, j])
        s = hyper[4] * slots[1, j] + (1.0 - hyper[4]) * (g * g)
        slots[0, j], slots[1, j] = m, s
        theta[j] += -step * (m / (math.sqrt(s) / root + hyper[5]))


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def accum_update(theta, grad, slots, hyper, step, running_sum):
    """torch Adagrad (running sum of g²) or RMSprop (moving average of g²) on theta in place"""
    rho = hyper[7]
    for j in range(theta.shape[0]):
        g = grad[j]
        s = slots[0, j] + g * g if running_sum else rho * slots[0, j] + (1.0 - rho) * (g * g)
        slots[0, j] = s
        theta[j] += -step * (g / (math.sqrt(s) + hyper[5]))


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def sgd_update(theta, grad, step):
    """plain SGD on theta in place"""
    for j in range(theta.shape[0]):
        theta[j] += -step * grad[j]


@njit(cache=True, error_model="numpy", inline="always")
def update(code, theta, grad, slots, t, fresh, hyper, lr):
    """one step (number t, from 1) of optimizer ``code`` on theta and slots in place"""
    step, root = step_scalars(code, t, hyper, lr)
    if code == SGD:
        sgd_update(theta, grad, step)
    elif code == MOMENTUM:
        momentum_update(theta, grad, slots, fresh, hyper, step)
    elif code == ADAM:
        adam_update(theta, grad, slots, hyper, step, root)
    else:
        accum_update(theta, grad, slots, hyper, step, code == ADAGRAD)


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def prox_and_raw(theta, threshold, inv_scale, v, shift, y_shift, fit_intercept):
    """soft-threshold w (when threshold > 0), refresh v = w·inv_scale; returns the raw offset"""
    d = v.shape[0]
    off = 0.0
    for j in range(d):
        if threshold > 0.0:
            theta[j] = np.sign(theta[j]) * max(abs(theta[j]) - threshold, 0.0)
        v[j] = theta[j] * inv_scale[j]
        off += shift[j] * v[j]
    return (theta[d] if fit_intercept else 0.0) - off + y_shift


@njit(cache=True, error_model="numpy")
def run_epoch(X, y, order, shuffled, batch_size, theta, slots, t, fresh, code, hyper,
              lr, l2, l1, c, shift, inv_scale, y_shift, fit_intercept):
    """one epoch of steps on theta, slots in place; returns the step count t afterwards.

    Per batch: Xᵀr over its rows (for a single row, x_i·r is formed on the fly), the
    gradient with its L2 term, the optimizer's update, the L1 prox, and v = w·inv_scale
    for the next batch; each a short loop over the coordinates that LLVM vectorizes.
    """
    n, d = X.shape
    acc = np.zeros(d)
    grad = np.empty(theta.shape[0])
    v = np.empty(d)
    offset = prox_and_raw(theta, 0.0, inv_scale, v, shift, y_shift, fit_intercept)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        i = order[start] if shuffled else start
        single = stop - start == 1
        if single:
            if shuffled:
                prefetch_row(X, order, start)
            rsum = residual(X, y, i, v, offset)
        else:
            rsum = batch_xtr(X, y, order, shuffled, start, stop, v, offset, acc)
        finish_grad(X, i, single, acc, rsum, c / (stop - start), shift, inv_scale, l2, theta, grad)
        t += 1
        update(code, theta, grad, slots, t, fresh, hyper, lr)
        fresh = False
        offset = prox_and_raw(theta, lr * l1, inv_scale, v, shift, y_shift, fit_intercept)
    return t

"""Per-coordinate optimizer updates for the compiled epoch kernels (formulas of ``gradfit.optim``).

Every gradfit optimizer updates each coordinate on its own, so a kernel can fold the
update into the same pass over the coordinates that forms the gradient. Each optimizer
is a pair: ``*_scalars(t, hyper, lr) -> (step, root)``, computed once per step, and
``*_coord(theta_j, g, slots, j, hyper, step, root, fresh) -> new theta_j``, which also
updates the coordinate's state in ``slots`` (2 × p). ``kernels.run_epoch`` picks the pair
of an optimizer code once per epoch; the epoch loop is compiled once for each pair.
"""

from __future__ import annotations

import math

from numba import njit

#: optimizer codes understood by the kernels
SGD, MOMENTUM, ADAM, ADAGRAD, RMSPROP = range(5)

#: layout of the ``hyper`` vector
HYPER = ("momentum", "dampening", "nesterov", "beta1", "beta2", "eps", "lr_decay", "rho")

#: let LLVM reorder sums into SIMD lanes (and fuse multiply-adds); no assumptions about NaN or inf
FAST = {"reassoc", "contract"}

#: decorator of the kernels' inlined helpers (inlined code takes the flags of its caller)
fast = njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")


@fast
def plain_scalars(t, hyper, lr):
    """(lr, 1): the step size does not change with t"""
    return lr, 1.0


@fast
def adam_scalars(t, hyper, lr):
    """(lr / (1 − β₁ᵗ), √(1 − β₂ᵗ)): Adam's bias corrections of step t"""
    return lr / (1.0 - hyper[3] ** t), math.sqrt(1.0 - hyper[4] ** t)


@fast
def adagrad_scalars(t, hyper, lr):
    """(lr / (1 + (t − 1)·lr_decay), 1): Adagrad's decayed rate of step t"""
    return lr / (1.0 + (t - 1) * hyper[6]), 1.0


@fast
def sgd_coord(theta_j, g, slots, j, hyper, step, root, fresh):
    """plain SGD"""
    return theta_j + -step * g


@fast
def momentum_coord(theta_j, g, slots, j, hyper, step, root, fresh):
    """torch SGD with momentum (and Nesterov); the buffer starts as g on the first step"""
    b = g * 1.0 if fresh else hyper[0] * slots[0, j] + (1.0 - hyper[1]) * g
    slots[0, j] = b
    return theta_j + -step * (g + hyper[0] * b if hyper[2] != 0.0 else b)


@fast
def adam_coord(theta_j, g, slots, j, hyper, step, root, fresh):
    """torch Adam, bias corrections folded into step and root"""
    m = slots[0, j] + (1.0 - hyper[3]) * (g - slots[0, j])
    s = hyper[4] * slots[1, j] + (1.0 - hyper[4]) * (g * g)
    slots[0, j], slots[1, j] = m, s
    return theta_j + -step * (m / (math.sqrt(s) / root + hyper[5]))


@fast
def adagrad_coord(theta_j, g, slots, j, hyper, step, root, fresh):
    """torch Adagrad: running sum of g²"""
    s = slots[0, j] + g * g
    slots[0, j] = s
    return theta_j + -step * (g / (math.sqrt(s) + hyper[5]))


@fast
def rmsprop_coord(theta_j, g, slots, j, hyper, step, root, fresh):
    """torch RMSprop: moving average of g² with factor rho"""
    s = hyper[7] * slots[0, j] + (1.0 - hyper[7]) * (g * g)
    slots[0, j] = s
    return theta_j + -step * (g / (math.sqrt(s) + hyper[5]))

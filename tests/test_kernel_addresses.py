"""The kernels' helpers give the same bits wherever their arrays lie in memory.

A loop that writes one array and reads another is vectorized behind a run-time check that the two are not
within a few vectors of each other; where they are, the scalar loop runs. A sum carried by such a loop came out
in another order, so ``raw_params``'s offset (the sum shift·v, taken while v was written) depended on where
malloc had put the kernel's 5-element work array, and two fits of the same data in one process differed in the
last bits (a CI run failed on it). Here the helpers run, inlined with the kernels' flags as in the kernels, on
arrays placed side by side in one buffer (the scalar loop) and on arrays of their own (the vector loop), for the
feature counts where the check can fall either way; ``test_kernel_ir.py`` holds every compiled kernel to the
same rule.
"""

import numpy as np
import pytest
from numba import njit

from gradfit.descent.losses import make_loss
from gradfit.descent.optim import make_optimizer
from gradfit.engines import kernels

FEATURES = range(2, 16)  # from 16 features on, distinct arrays lie too far apart for the check to fall
#: the step's loop is vectorized from 8 coordinates on (no epilogue): small and vectorized counts
STEP_FEATURES = [*FEATURES, 16, 17, 24, 33, 40]


@njit(fastmath=kernels.FAST, error_model="numpy")
def offset_of(theta, fold, v):
    return kernels.raw_params(theta, fold, v)


@njit(fastmath=kernels.FAST, error_model="numpy")
def weights_step(X, acc, gsum, fold, penalty, s, scalars, rule, gather, scatter, v, theta, slots):
    k = scalars(s.hyper, 3, s.lr)
    return kernels.update_weights(X, 0, False, acc, gsum, 0.25, fold, penalty, s, k, rule, gather, scatter, v,
                                  theta, slots)


def fold_of(rng, d):
    return kernels.Fold(rng.normal(size=d) * 10.0, rng.uniform(0.1, 3.0, size=d), 0.3, True)


def side_by_side(*arrays):
    """copies of ``arrays`` one after the other in one buffer, each starting right where the last one ends"""
    buffer = np.empty(sum(a.size for a in arrays))
    out, at = [], 0
    for a in arrays:
        view = buffer[at : at + a.size].reshape(a.shape)
        view[...] = a
        out.append(view)
        at += a.size
    return out


@pytest.mark.parametrize("d", FEATURES)
def test_the_raw_offset_has_the_same_bits_wherever_the_work_array_lies(d):
    rng = np.random.default_rng(d)
    for _ in range(40):
        theta, fold = rng.normal(size=d + 1), fold_of(rng, d)
        near_theta, near_v = side_by_side(theta, np.zeros(d))  # v right after θ: within the check's reach
        far = offset_of(theta.copy(), fold, np.zeros(d))
        assert offset_of(near_theta, fold, near_v) == far


@pytest.mark.parametrize("name", ["sgd", "adam"])
@pytest.mark.parametrize("d", STEP_FEATURES)
def test_a_step_has_the_same_bits_wherever_its_arrays_lie(name, d):
    rng = np.random.default_rng(100 + d)
    opt, loss = make_optimizer(name, momentum=0.5) if name == "sgd" else make_optimizer(name), make_loss("mse")
    n_slots = len(opt.slots)
    gather = kernels.compiled((kernels.gather1, kernels.gather2, kernels.gather3)[n_slots - 1])
    scatter = kernels.compiled((kernels.scatter1, kernels.scatter2, kernels.scatter3)[n_slots - 1])
    for _ in range(20):
        X, acc, fold = rng.normal(size=(1, d)), rng.normal(size=d), fold_of(rng, d)
        theta, slots, v = rng.normal(size=d + 1), np.abs(rng.normal(size=(n_slots, d + 1))), np.zeros(d)
        results = []
        for arrays in ([a.copy() for a in (theta, slots, v)], side_by_side(theta, slots, v)):
            t, sl, vv = arrays
            s = kernels.Descent(t, sl, t, -1, opt.hyper, 0.01, loss.params)
            off = weights_step(X, acc, 0.7, fold, kernels.Penalty(0.1, 0.0), s, kernels.compiled(opt.scalars),
                               kernels.compiled(opt.rule), gather, scatter, vv, t, sl)
            results.append((off, t.tobytes(), sl.tobytes(), vv.tobytes()))
        assert results[0] == results[1]

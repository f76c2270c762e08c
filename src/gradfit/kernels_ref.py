"""The plain NumPy twin of ``gradfit.kernels``: the same epoch, written batch by batch with arrays.

Same signature and the same in-place contract as ``kernels.run_epoch``; the tests run
both on the same inputs and compare. Read this one to see what the kernel computes.
"""

from __future__ import annotations

import numpy as np

from .kernels import ADAGRAD, ADAM, MOMENTUM, SGD


def batch_grad(X, y, rows, theta, shift, inv_scale, y_shift, c, fit_intercept) -> np.ndarray:
    """gradient of (c/2)·mean(r²) over ``rows``, preprocessing folded into the parameters"""
    d = X.shape[1]
    v = theta[:d] * inv_scale
    offset = (theta[d] if fit_intercept else 0.0) - shift @ v + y_shift
    r = X[rows] @ v + offset - y[rows]
    f = c / len(r)
    grad_w = (X[rows].T @ r - shift * r.sum()) * inv_scale * f
    return np.append(grad_w, r.sum() * f) if fit_intercept else grad_w


def optimizer_step(code, theta, grad, slots, t, fresh, hyper, lr) -> None:
    """one update of optimizer ``code`` on theta and slots, in place"""
    mu, damp, nesterov, beta1, beta2, eps, lr_decay, rho = hyper
    if code == SGD:
        theta += -lr * grad
    elif code == MOMENTUM:
        slots[0] = grad * 1.0 if fresh else mu * slots[0] + (1.0 - damp) * grad
        theta += -lr * (grad + mu * slots[0] if nesterov else slots[0])
    elif code == ADAM:
        slots[0] = slots[0] + (1.0 - beta1) * (grad - slots[0])
        slots[1] = beta2 * slots[1] + (1.0 - beta2) * grad**2
        denom = np.sqrt(slots[1]) / np.sqrt(1.0 - beta2**t) + eps
        theta += -(lr / (1.0 - beta1**t)) * (slots[0] / denom)
    elif code == ADAGRAD:
        slots[0] = slots[0] + grad**2
        theta += -(lr / (1.0 + (t - 1) * lr_decay)) * (grad / (np.sqrt(slots[0]) + eps))
    else:
        slots[0] = rho * slots[0] + (1.0 - rho) * grad**2
        theta += -lr * (grad / (np.sqrt(slots[0]) + eps))


def run_epoch(X, y, order, shuffled, batch_size, theta, slots, t, fresh, code, hyper,
              lr, l2, l1, c, shift, inv_scale, y_shift, fit_intercept) -> int:
    """one epoch of steps on theta, slots in place; returns the step count t afterwards"""
    n, d = X.shape
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows = order[start:stop] if shuffled else slice(start, stop)
        grad = batch_grad(X, y, rows, theta, shift, inv_scale, y_shift, c, fit_intercept)
        grad[:d] += l2 * theta[:d]
        t += 1
        optimizer_step(code, theta, grad, slots, t, fresh, hyper, lr)
        fresh = False
        if l1 > 0.0:
            theta[:d] = np.sign(theta[:d]) * np.maximum(np.abs(theta[:d]) - lr * l1, 0.0)
    return t

"""Learning-rate schedules: functions of the epoch index (0 for the first epoch).

Like ``torch.optim.lr_scheduler`` stepped once per epoch, every step of an epoch
uses that epoch's rate, so full-batch, minibatch and per-sample runs share one clock.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

from ..errors import OptionError

Schedule = Callable[[int], float]

DEFAULTS = {
    "constant": {},
    "step": {"step_size": 10, "gamma": 0.5},
    "exponential": {"gamma": 0.99},
    "invscaling": {"power_t": 0.25},
    "cosine": {"lr_min": 0.0},
}


def constant(lr: float) -> Schedule:
    """lr every epoch"""
    return lambda epoch: lr


def step(lr: float, step_size: int, gamma: float) -> Schedule:
    """lr · γ^⌊epoch / step_size⌋ (torch StepLR)"""
    return lambda epoch: lr * gamma ** (epoch // step_size)


def exponential(lr: float, gamma: float) -> Schedule:
    """lr · γ^epoch (torch ExponentialLR)"""
    return lambda epoch: lr * gamma**epoch


def invscaling(lr: float, power_t: float) -> Schedule:
    """lr / (epoch + 1)^power_t (scikit-learn's 'invscaling', counted in epochs)"""
    return lambda epoch: lr / (epoch + 1) ** power_t


def cosine(lr: float, epochs: int, lr_min: float) -> Schedule:
    """lr_min + (lr − lr_min)·(1 + cos(π·epoch / epochs)) / 2 (torch CosineAnnealingLR)"""
    return lambda epoch: lr_min + (lr - lr_min) * (1.0 + math.cos(math.pi * epoch / epochs)) / 2.0


#: schedule option -> (check, what it must be): a rate that grows, a zero step, a negative floor are refused
RULES = {
    "step_size": (lambda v: float(v).is_integer() and v >= 1, "an integer >= 1"),
    "gamma": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "power_t": (lambda v: v >= 0, "a number >= 0"),
    "lr_min": (lambda v: v >= 0, "a number >= 0"),
}


def check_options(name: str, options: Mapping | None) -> dict:
    """the schedule's settings (its defaults overridden by ``options``); OptionError naming a bad one"""
    if name not in DEFAULTS:
        raise OptionError(f"option schedule={name!r} is not one of {list(DEFAULTS)}")
    if options is not None and not isinstance(options, Mapping):
        raise OptionError(f"option schedule_options={options!r} must be a dict such as {{'gamma': 0.9}}")
    opts = {**DEFAULTS[name], **(options or {})}
    unknown = set(opts) - set(DEFAULTS[name])
    if unknown:
        raise OptionError(f"option schedule_options has {sorted(unknown)}, which schedule={name!r} does not take")
    for key, value in opts.items():
        ok, wanted = RULES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
            raise OptionError(f"option schedule_options {key}={value!r} must be {wanted}")
    return opts


def make_schedule(name: str, lr: float, epochs: int, options: Mapping | None = None) -> Schedule:
    """a schedule by name; ``options`` override its defaults (see ``DEFAULTS``)"""
    opts = check_options(name, options)
    if name == "constant":
        return constant(lr)
    if name == "step":
        return step(lr, int(opts["step_size"]), float(opts["gamma"]))
    if name == "exponential":
        return exponential(lr, float(opts["gamma"]))
    if name == "invscaling":
        return invscaling(lr, float(opts["power_t"]))
    if opts["lr_min"] > lr:
        raise OptionError(f"option schedule_options lr_min={opts['lr_min']!r} is above the learning rate lr={lr:.4g}")
    return cosine(lr, epochs, float(opts["lr_min"]))


def power_iteration(H, iters: int = 500, rtol: float = 1e-10, seed: int = 0) -> float:
    """the largest eigenvalue of a symmetric positive semi-definite matrix, by power iteration"""
    import numpy as np

    if H.shape[0] == 0:
        return 0.0
    v = np.random.default_rng(seed).standard_normal(H.shape[0])
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        w = H @ v
        new = float(np.linalg.norm(w))
        if new == 0.0:
            return 0.0
        v = w / new
        if abs(new - lam) <= rtol * new:
            return new
        lam = new
    return lam


def safe_sgd_lr(L: float, R: float, n_rows: int, batch_size: int | None) -> float:
    """1/L_b: the step size that is safe for batches of ``batch_size`` rows.

    L is the largest curvature of the full objective, R the largest curvature of a
    single row; L_b interpolates between them as in Gower et al. (2019),
    'SGD: General Analysis and Improved Rates'.
    """
    if batch_size is None or batch_size >= n_rows or n_rows < 2:
        Lb = L
    else:
        b, n = batch_size, n_rows
        Lb = n * (b - 1) / (b * (n - 1)) * L + (n - b) / (b * (n - 1)) * R
    return 1.0 / Lb if Lb > 0 else 1.0


def adaptive_lr(theta_star) -> float:
    """for Adam-like optimizers, whose steps are about lr long whatever the curvature:
    1% of the largest parameter of the exact solution (at least 1e-3)"""
    return max(0.01 * max((abs(t) for t in theta_star), default=0.0), 1e-3)

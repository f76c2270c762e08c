"""Optimizers: one definition each, a named-tuple state and one update rule in arithmetic only.

An optimizer is its state slots (arrays the size of the parameters, zeros at the start,
never None), its named hyperparameters (a NamedTuple) and its update, in two functions:

    scalars(h, t, lr) -> k                    what step t (1, 2, ...) computes once (a NamedTuple)
    rule(p, g, slots, h, k) -> (new p, new slots)

They use only ``+ − * / **`` and branch on hyperparameters, so the same functions run on
whole vectors (Python ``Vec``, NumPy, torch, Dask) and, compiled as they are by Numba, in
the NumPy engine's epoch kernels (``gradfit.engines.kernels``): ``scalars`` once per step, ``rule``
on one coordinate at a time. Every formula follows ``torch.optim`` (PyTorch 2.x,
default flags), so any engine reproduces a PyTorch run; the tests compare them step by step.

Adding an optimizer: its hyperparameter tuple, its two functions and a line in ``OPTIMIZERS``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ..errors import OptionError


class OptState(NamedTuple):
    """an optimizer's state: the steps made and its slots (arrays, in the order of ``Optimizer.slots``)"""

    step: int
    slots: tuple


class SGDHyper(NamedTuple):
    momentum: float = 0.0
    nesterov: bool = False


class AdamHyper(NamedTuple):
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is Adam


class AccumHyper(NamedTuple):
    eps: float = 1e-8
    rho: float = 0.99  # RMSprop's decay (torch's alpha); unused by Adagrad


class Plain(NamedTuple):
    """a step's scalars when they are the learning rate alone"""

    lr: float


class AdamStep(NamedTuple):
    """Adam's scalars of step t"""

    size: float  # lr / (1 − β₁ᵗ)
    root: float  # √(1 − β₂ᵗ)
    decay: float  # 1 − lr·λ


def plain(h, t, lr) -> Plain:
    return Plain(lr)


def sgd_rule(p, g, s, h: SGDHyper, k: Plain):
    """torch.optim.SGD: b ← μ·b + g (b starts at 0, so b₁ = g); d = g + μ·b (Nesterov) or b; p ← p − lr·d"""
    b = h.momentum * s[0] + g
    if h.nesterov:
        return p - k.lr * (g + h.momentum * b), (b,)
    return p - k.lr * b, (b,)


def adam_scalars(h: AdamHyper, t, lr) -> AdamStep:
    return AdamStep(lr / (1.0 - h.beta1**t), (1.0 - h.beta2**t) ** 0.5, 1.0 - lr * h.weight_decay)


def adam_rule(p, g, s, h: AdamHyper, k: AdamStep):
    """torch.optim.AdamW (Adam when weight_decay = 0): p ← p·(1 − lr·λ); m ← m + (1−β₁)(g − m);
    v ← β₂v + (1−β₂)g²; p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)

    The decay multiplies every parameter the optimizer is given, the intercept included,
    as torch.optim.AdamW does with the parameters handed to it.
    """
    p = p * k.decay
    m = s[0] + (1.0 - h.beta1) * (g - s[0])
    v = h.beta2 * s[1] + (1.0 - h.beta2) * (g * g)
    return p - k.size * (m / (v**0.5 / k.root + h.eps)), (m, v)


class RAdamStep(NamedTuple):
    """RAdam's scalars of step t"""

    lr: float
    correction1: float  # 1 − β₁ᵗ
    root: float  # √(1 − β₂ᵗ)
    rect: float  # the variance rectification r_t (where rectified)
    rectified: bool  # ρ_t > 5: the adaptive step is used


def radam_scalars(h: AdamHyper, t, lr) -> RAdamStep:
    correction2 = 1.0 - h.beta2**t
    rho_inf = 2.0 / (1.0 - h.beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * h.beta2**t / correction2
    rect = 0.0
    if rho_t > 5.0:
        rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
    return RAdamStep(lr, 1.0 - h.beta1**t, correction2**0.5, rect, rho_t > 5.0)


def radam_rule(p, g, s, h: AdamHyper, k: RAdamStep):
    """torch.optim.RAdam: Adam's moments; p ← p − lr·(m / (1−β₁ᵗ))·(√(1−β₂ᵗ) / (√v + ε))·r_t once the
    variance is tractable (ρ_t > 5), p ← p − lr·m / (1−β₁ᵗ) before"""
    m = s[0] + (1.0 - h.beta1) * (g - s[0])
    v = h.beta2 * s[1] + (1.0 - h.beta2) * (g * g)
    if k.rectified:
        return p - (m / k.correction1) * k.lr * (k.root / (v**0.5 + h.eps)) * k.rect, (m, v)
    return p - (m / k.correction1) * k.lr, (m, v)


def adagrad_rule(p, g, s, h: AccumHyper, k: Plain):
    """torch.optim.Adagrad: a ← a + g²; p ← p − lr · g / (√a + ε)"""
    a = s[0] + g * g
    return p - k.lr * (g / (a**0.5 + h.eps)), (a,)


def rmsprop_rule(p, g, s, h: AccumHyper, k: Plain):
    """torch.optim.RMSprop (alpha = rho): a ← ρ·a + (1−ρ)·g²; p ← p − lr · g / (√a + ε)"""
    a = h.rho * s[0] + (1.0 - h.rho) * (g * g)
    return p - k.lr * (g / (a**0.5 + h.eps)), (a,)


def average(avg, p, t, start):
    """the Polyak–Ruppert average of the iterates after step ``start``, updated with step t's iterate p

    Before averaging starts (t ≤ start) the average is the iterate itself.
    """
    k = t - start
    if k <= 1:
        return p * 1.0
    return avg + (p - avg) / k


class Optimizer(NamedTuple):
    """one of gradfit's optimizers: ``init(params) -> state``; ``update(grad, state, params, lr)``"""

    name: str
    slots: tuple  # names of the state slots
    hyper: Any  # a NamedTuple of hyperparameters
    scalars: Callable
    rule: Callable

    def init(self, params) -> OptState:
        return OptState(0, tuple(params * 0.0 for _ in self.slots))

    def update(self, grad, state: OptState, params, lr: float):
        """(new parameters, new state) after one step"""
        t = state.step + 1
        new, slots = self.rule(params, grad, state.slots, self.hyper, self.scalars(self.hyper, t, lr))
        return new, OptState(t, slots)


#: name -> (slots, hyperparameter tuple, scalars, rule)
OPTIMIZERS = {
    "sgd": (("momentum_buffer",), SGDHyper, plain, sgd_rule),
    "adam": (("exp_avg", "exp_avg_sq"), AdamHyper, adam_scalars, adam_rule),
    "adamw": (("exp_avg", "exp_avg_sq"), AdamHyper, adam_scalars, adam_rule),
    "radam": (("exp_avg", "exp_avg_sq"), AdamHyper, radam_scalars, radam_rule),
    "adagrad": (("sum",), AccumHyper, plain, adagrad_rule),
    "rmsprop": (("square_avg",), AccumHyper, plain, rmsprop_rule),
}


def make_optimizer(
    name: str,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    rho: float = 0.99,
    weight_decay: float = 0.01,
) -> Optimizer:
    """an optimizer by name, with the hyperparameters that name takes (weight_decay: adamw only)"""
    if name not in OPTIMIZERS:
        raise OptionError(f"option optimizer={name!r} is not one of {list(OPTIMIZERS)}")
    if nesterov and momentum <= 0.0:
        raise OptionError("option nesterov=True needs momentum > 0")
    slots, Hyper, scalars, rule = OPTIMIZERS[name]
    given = {"momentum": float(momentum), "nesterov": bool(nesterov), "beta1": float(betas[0]),
             "beta2": float(betas[1]), "eps": float(eps), "rho": float(rho),
             "weight_decay": float(weight_decay) if name == "adamw" else 0.0}
    return Optimizer(name, slots, Hyper(**{k: given[k] for k in Hyper._fields}), scalars, rule)

"""Optimizers as (init, update) pairs whose math uses arithmetic operators only.

``update(grad, state, params, lr) -> (updates, state)``; the new parameters are
``params + updates``. Because only ``+ - * / **`` appear, one formula runs on Python
vectors, NumPy arrays, torch tensors and Dask arrays alike. Every formula follows
``torch.optim`` (PyTorch 2.x, default flags), so any engine reproduces a PyTorch run.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from .errors import OptionError

State = Any
Update = Callable[[Any, State, Any, float], "tuple[Any, State]"]


class Optimizer(NamedTuple):
    """a pure optimizer: ``init(params) -> state``; ``update(grad, state, params, lr)``"""

    name: str
    init: Callable[[Any], State]
    update: Update
    hyper: dict


class MomentumState(NamedTuple):
    step: int
    buf: Any


class AdamState(NamedTuple):
    step: int
    m: Any
    v: Any


class AccumState(NamedTuple):
    step: int
    acc: Any


def sgd(momentum: float = 0.0, nesterov: bool = False, dampening: float = 0.0) -> Optimizer:
    """torch.optim.SGD: b ← μ·b + (1−τ)·g (b₁ = g); g ← g + μ·b if nesterov else b; p ← p − lr·g"""
    if nesterov and momentum <= 0.0:
        raise OptionError("option nesterov=True needs momentum > 0")

    def init(params):
        return MomentumState(0, None)

    def update(grad, state, params, lr):
        if momentum == 0.0:
            return -lr * grad, MomentumState(state.step + 1, None)
        buf = grad * 1.0 if state.buf is None else momentum * state.buf + (1.0 - dampening) * grad
        direction = grad + momentum * buf if nesterov else buf
        return -lr * direction, MomentumState(state.step + 1, buf)

    return Optimizer("sgd", init, update, {"momentum": momentum, "nesterov": nesterov, "dampening": dampening})


def adam(betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> Optimizer:
    """torch.optim.Adam: m ← m + (1−β₁)(g − m); v ← β₂v + (1−β₂)g²;
    p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)"""
    beta1, beta2 = betas

    def init(params):
        return AdamState(0, params * 0.0, params * 0.0)

    def update(grad, state, params, lr):
        t = state.step + 1
        m = state.m + (1.0 - beta1) * (grad - state.m)
        v = beta2 * state.v + (1.0 - beta2) * (grad * grad)
        step_size = lr / (1.0 - beta1**t)
        denom = v**0.5 / (1.0 - beta2**t) ** 0.5 + eps
        return -step_size * (m / denom), AdamState(t, m, v)

    return Optimizer("adam", init, update, {"betas": tuple(betas), "eps": eps})


def adagrad(eps: float = 1e-8, lr_decay: float = 0.0) -> Optimizer:
    """torch.optim.Adagrad: s ← s + g²; p ← p − lr/(1+(t−1)·decay) · g / (√s + ε)"""

    def init(params):
        return AccumState(0, params * 0.0)

    def update(grad, state, params, lr):
        t = state.step + 1
        acc = state.acc + grad * grad
        clr = lr / (1.0 + (t - 1) * lr_decay)
        return -clr * (grad / (acc**0.5 + eps)), AccumState(t, acc)

    return Optimizer("adagrad", init, update, {"eps": eps, "lr_decay": lr_decay})


def rmsprop(rho: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """torch.optim.RMSprop (alpha=rho): s ← ρ·s + (1−ρ)·g²; p ← p − lr · g / (√s + ε)"""

    def init(params):
        return AccumState(0, params * 0.0)

    def update(grad, state, params, lr):
        acc = rho * state.acc + (1.0 - rho) * (grad * grad)
        return -lr * (grad / (acc**0.5 + eps)), AccumState(state.step + 1, acc)

    return Optimizer("rmsprop", init, update, {"rho": rho, "eps": eps})


OPTIMIZERS = ("sgd", "adam", "adagrad", "rmsprop")


def make_optimizer(
    name: str,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    rho: float = 0.99,
) -> Optimizer:
    """an optimizer by name, with the hyperparameters that name takes"""
    if name == "sgd":
        return sgd(momentum=momentum, nesterov=nesterov)
    if name == "adam":
        return adam(betas=betas, eps=eps)
    if name == "adagrad":
        return adagrad(eps=eps)
    if name == "rmsprop":
        return rmsprop(rho=rho, eps=eps)
    raise OptionError(f"option optimizer={name!r} is not one of {list(OPTIMIZERS)}")

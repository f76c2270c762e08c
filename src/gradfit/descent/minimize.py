"""Gradient descent and ascent on any differentiable function of a vector.

The same optimizers and learning-rate schedules as the fits run here on plain
Python vectors, so ``minimize(f, x0)`` is Data Science from Scratch's
``gradient_step`` loop with every gradfit optimizer behind it. The gradient comes
from ``grad``, from central finite differences, or from PyTorch's autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..engines.python import Vec
from ..errors import DivergenceError, OptionError
from ..training.config import FitConfig, validate
from .optim import make_optimizer
from .schedules import make_schedule

Vector = list  # a list of floats
Function = Callable[[Vector], float]
Gradient = Callable[[Vector], Sequence[float]]

#: relative finite-difference step: the cube root of float64's machine epsilon,
#: which balances truncation and rounding errors of central differences
FD_STEP = 6.06e-6

__all__ = ["MinimizeResult", "Step", "check_grad", "maximize", "minimize", "numerical_gradient"]


class Step(NamedTuple):
    """one recorded point of the descent: where it stood, f there, and the gradient's norm"""

    x: Vector
    fun: float
    grad_norm: float


@dataclass
class MinimizeResult:
    """the end of a descent; ``history[k]`` is the point after k steps (``history[0]`` is x0)"""

    x: Vector
    fun: float
    history: list[Step] = field(repr=False)
    n_iter: int
    converged: bool


def numerical_gradient(f: Function, x: Sequence[float], eps: float = FD_STEP) -> Vector:
    """∂f/∂xᵢ ≈ (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ with hᵢ = eps·max(1, |xᵢ|)"""
    x = [float(v) for v in x]
    grad = []
    for i, xi in enumerate(x):
        h = eps * max(1.0, abs(xi))
        up, down = list(x), list(x)
        up[i], down[i] = xi + h, xi - h
        grad.append((f(up) - f(down)) / (up[i] - down[i]))
    return grad


def check_grad(f: Function, grad: Gradient, x: Sequence[float], eps: float = 1e-6) -> float:
    """the largest difference between ``grad(x)`` and finite differences of ``f``.

    Each component's difference is divided by max(1, |analytic|, |numeric|), so large
    components compare relatively and components near zero absolutely. A correct
    gradient gives about 1e-8 or less; a wrong one gives something of order 1.

    Examples
    --------
    >>> check_grad(lambda v: v[0] ** 2, lambda v: [2 * v[0]], [3.0]) < 1e-6
    True
    """
    analytic = [float(g) for g in grad(list(x))]
    numeric = numerical_gradient(f, x, eps)
    if len(analytic) != len(numeric):
        raise OptionError(f"option grad returned {len(analytic)} components for a point with {len(numeric)}")
    return max(abs(a - n) / max(1.0, abs(a), abs(n)) for a, n in zip(analytic, numeric))


def _autograd(f: Callable) -> tuple[Function, Gradient]:
    """f's value on lists and its gradient by torch autograd (float64)"""
    try:
        import torch
    except ImportError:
        raise OptionError("option grad='autograd' needs PyTorch, which is not installed; "
                          "install it with: pip install 'gradfit[torch]'") from None
    from ..engines.torch import autograd_gradient

    def value(x: Vector) -> float:
        return float(f(torch.tensor(x, dtype=torch.float64)))

    return value, autograd_gradient(f, dtype="float64")


def _objective(f: Callable, grad) -> tuple[Function, Gradient]:
    """(value, gradient) on lists of floats from what the user passed as ``grad``"""
    if isinstance(grad, str):
        if grad != "autograd":
            raise OptionError(f"option grad={grad!r} must be a function, None or 'autograd'")
        return _autograd(f)
    if grad is None:
        return f, lambda x: numerical_gradient(f, x)
    if not callable(grad):
        raise OptionError(f"option grad={grad!r} must be a function, None or 'autograd'")
    return f, grad


def _start(x0) -> Vector:
    try:
        x = [float(v) for v in x0]
    except (TypeError, ValueError):
        raise OptionError(f"option x0={x0!r} must be a sequence of numbers") from None
    if not x or not all(math.isfinite(v) for v in x):
        raise OptionError(f"option x0={x0!r} must hold at least one number, all finite")
    return x


def _check_options(lr, epochs, **options) -> None:
    """the options minimize shares with a fit, checked by the fit's own table"""
    if lr == "auto":
        raise OptionError("option lr='auto' needs a linear model's curvature; minimize takes a number")
    validate(FitConfig(lr=lr, epochs=epochs, **options))


def _point(value: Function, gradient: Gradient, x: Vec, epoch: int, lr: float) -> tuple[float, Vec]:
    """f and its gradient at x; a non-finite value means the descent diverged"""
    try:
        fx = float(value(list(x)))
        g = Vec(gradient(list(x)))
    except OverflowError:  # Python floats raise where arrays would give inf
        fx, g = math.inf, Vec([math.inf] * len(x))
    if len(g) != len(x):
        raise OptionError(f"option grad returned {len(g)} components for a point with {len(x)}")
    if not (math.isfinite(fx) and all(math.isfinite(v) for v in g)):
        raise DivergenceError(f"the descent diverged at epoch {epoch}: f(x) = {fx:.4g} with lr={lr:.4g}; "
                              f"try a smaller lr such as {lr / 10:.4g}", epoch=epoch, suggested_lr=lr / 10)
    return fx, g


def _small(step: Step, tol: float | None) -> bool:
    """the stopping rule: the gradient's norm is at most tol"""
    return tol is not None and step.grad_norm <= tol


def _norm(v: Vec) -> float:
    return math.sqrt(sum(a * a for a in v))


def minimize(f: Callable, x0: Sequence[float], grad: Gradient | str | None = None, *,
             optimizer: str = "sgd", lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
             betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, rho: float = 0.99,
             schedule: str = "constant", schedule_options: Mapping | None = None, epochs: int = 1000,
             tol: float | None = None, callback: Callable[[int, Step], bool | None] | None = None,
             ) -> MinimizeResult:
    """minimize ``f`` by gradient descent from ``x0``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for ``x`` a list of floats of length d. With
        ``grad="autograd"``, ``f`` takes a 1-D float64 torch tensor and returns a
        scalar tensor.
    x0 : sequence of float, length d
        The starting point.
    grad : callable, None or "autograd"
        ``grad(x) -> sequence of d floats``; None: central finite differences
        (step ``6e-6·max(1, |xᵢ|)``); "autograd": PyTorch's autograd.
    optimizer, lr, momentum, nesterov, betas, eps, rho, schedule, schedule_options
        As for ``GDRegressor``: the same optimizers (torch.optim's formulas) and
        schedules, stepped once per epoch. One epoch is one step.
    epochs : int
        The most steps to take.
    tol : float or None
        Stop, converged, once the gradient's norm is at most ``tol``.
    callback : callable or None
        ``callback(epoch, step)`` after each step; returning True stops the descent.

    Returns
    -------
    MinimizeResult
        ``x``, ``fun = f(x)``, ``history`` (a ``Step(x, fun, grad_norm)`` for the
        start and after every step), ``n_iter`` and ``converged``.

    Raises
    ------
    DivergenceError
        When f or its gradient turns non-finite.

    Examples
    --------
    >>> result = minimize(lambda v: (v[0] - 3.0) ** 2, [0.0], lambda v: [2 * (v[0] - 3.0)], lr=0.1, epochs=200)
    >>> round(result.x[0], 6)
    3.0
    """
    _check_options(lr, epochs, optimizer=optimizer, momentum=momentum, nesterov=nesterov, betas=tuple(betas),
                   eps=eps, rho=rho, schedule=schedule, schedule_options=schedule_options, tol=tol)
    value, gradient = _objective(f, grad)
    opt = make_optimizer(optimizer, momentum=momentum, nesterov=nesterov, betas=tuple(betas), eps=eps, rho=rho)
    lr_at = make_schedule(schedule, float(lr), max(epochs, 1), schedule_options)
    x = Vec(_start(x0))
    fx, g = _point(value, gradient, x, 0, lr_at(0))
    history = [Step(list(x), fx, _norm(g))]
    state, epoch = opt.init(x), 0
    while epoch < epochs and not _small(history[-1], tol):
        x, state = opt.update(g, state, x, lr_at(epoch))
        epoch += 1
        fx, g = _point(value, gradient, x, epoch, lr_at(epoch - 1))
        history.append(Step(list(x), fx, _norm(g)))
        if callback is not None and callback(epoch, history[-1]):
            break
    return MinimizeResult(list(x), fx, history, epoch, _small(history[-1], tol))


def maximize(f: Callable, x0: Sequence[float], grad: Gradient | str | None = None, **options) -> MinimizeResult:
    """maximize ``f`` by gradient ascent: ``minimize`` on −f, reporting f itself.

    Takes the options of ``minimize``; ``fun`` and the history hold f (not −f).

    Examples
    --------
    >>> result = maximize(lambda v: -(v[0] - 3.0) ** 2, [0.0], lambda v: [-2 * (v[0] - 3.0)], lr=0.1, epochs=200)
    >>> round(result.x[0], 6), abs(result.fun) < 1e-12
    (3.0, True)
    """
    if callable(grad):
        neg_grad: Gradient | str | None = lambda x: [-g for g in grad(x)]
    else:
        neg_grad = grad
    user_callback = options.pop("callback", None)
    flip = (lambda epoch, step: user_callback(epoch, _flip(step))) if user_callback is not None else None
    result = minimize(lambda x: -f(x), x0, neg_grad, callback=flip, **options)
    history = [_flip(step) for step in result.history]
    return MinimizeResult(result.x, -result.fun, history, result.n_iter, result.converged)


def _flip(step: Step) -> Step:
    return Step(step.x, -step.fun, step.grad_norm)

"""Losses: one object each, with its value per row, its derivative and whether it is quadratic.

A loss is a function of the residual ``r = prediction − y`` of one row; the data loss of a
fit is its mean over the rows. Every engine computes residuals and asks the loss (the
compiled kernels compile these same functions with Numba). The formulas use only
arithmetic, ``abs`` and comparisons multiplied by 1.0, so one definition runs on Python
floats, NumPy, torch and Dask arrays and in Numba alike (a formula calls no other Python
function, so Numba compiles it on its own).

Conventions (``r = ŷ − y``):

* ``mse``: r²; ``half_mse``: ½r² (scikit-learn's squared error);
* ``huber``: ½r² for |r| ≤ ε, ε|r| − ½ε² beyond (scikit-learn SGDRegressor's ``huber``,
  whose ``epsilon`` is the same ε; the mean over rows, like ``mse``);
* ``epsilon_insensitive``: max(0, |r| − ε) (SGDRegressor's ``epsilon_insensitive``);
* ``quantile``: the pinball loss of level τ = ``quantile``: τ·(y − ŷ) when y ≥ ŷ, (1 − τ)·(ŷ − y)
  when y < ŷ (scikit-learn QuantileRegressor's objective with alpha=0).

The derivative is the one SGDRegressor uses at a kink: 0 at r = 0 (quantile), r itself or ±ε
at |r| = ε (huber: inside), 0 at |r| = ε (epsilon_insensitive).

Only a quadratic loss has Gram statistics that hold its whole objective: the Gram path,
the closed-form exact answer, the OLS statistics, the loss surface and the graph consult
``Loss.is_quadratic`` (and ``Loss.c``, the squared loss's (c/2)·r² factor).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from .errors import OptionError


class LossParams(NamedTuple):
    """the numbers a loss's formulas read (named, so the kernels compile them as a tuple)"""

    c: float = 2.0  # squared losses: (c/2)·r²
    epsilon: float = 0.1  # huber, epsilon_insensitive
    quantile: float = 0.5  # quantile


def squared_value(r, p: LossParams):
    """(c/2)·r²; mse (c = 2) is r² itself, the tutorials' cost, whose autograd graph is Pow then Mean"""
    return r**2 if p.c == 2.0 else (0.5 * p.c) * r**2


def squared_deriv(r, p: LossParams):
    return p.c * r


def huber_value(r, p: LossParams):
    a = abs(r)
    inside = (a <= p.epsilon) * 1.0
    m = a * inside + p.epsilon * (1.0 - inside)  # min(|r|, ε)
    return m * (a - 0.5 * m)


def huber_deriv(r, p: LossParams):
    inside = (abs(r) <= p.epsilon) * 1.0
    return r * inside + (p.epsilon * (1.0 - inside)) * ((r > 0.0) * 1.0 - (r < 0.0) * 1.0)


def epsilon_insensitive_value(r, p: LossParams):
    excess = abs(r) - p.epsilon
    return excess * ((excess > 0.0) * 1.0)


def epsilon_insensitive_deriv(r, p: LossParams):
    return ((r > 0.0) * 1.0 - (r < 0.0) * 1.0) * ((abs(r) > p.epsilon) * 1.0)


def quantile_value(r, p: LossParams):
    return r * ((r > 0.0) * (1.0 - p.quantile) - (r < 0.0) * p.quantile)


def quantile_deriv(r, p: LossParams):
    return (r > 0.0) * (1.0 - p.quantile) - (r < 0.0) * p.quantile


class Loss(NamedTuple):
    """a loss of the residual: ``value(r, params)`` per row and ``deriv(r, params)`` = d value / d ŷ"""

    name: str
    value: Callable
    deriv: Callable
    params: LossParams
    is_quadratic: bool
    #: an upper bound of the second derivative (c for squared losses, 1 for Huber); inf where there is a kink
    curvature: float
    #: an upper bound of |deriv| (inf for squared losses)
    slope: float

    @property
    def c(self) -> float:
        """the factor of a quadratic loss (c/2)·r²"""
        if not self.is_quadratic:
            raise ValueError(f"loss {self.name!r} is not quadratic")
        return self.params.c

    def mean(self, r) -> float:
        """mean loss over residuals r (a NumPy array)"""
        return float(self.value(r, self.params).mean()) if len(r) else 0.0


#: the losses by name: (value, derivative, is quadratic)
FORMULAS = {
    "mse": (squared_value, squared_deriv, True),
    "half_mse": (squared_value, squared_deriv, True),
    "huber": (huber_value, huber_deriv, False),
    "epsilon_insensitive": (epsilon_insensitive_value, epsilon_insensitive_deriv, False),
    "quantile": (quantile_value, quantile_deriv, False),
}
LOSSES = tuple(FORMULAS)
#: losses that read epsilon / quantile
USES_EPSILON = ("huber", "epsilon_insensitive")


def make_loss(name: str, epsilon: float = 0.1, quantile: float = 0.5) -> Loss:
    """the loss of this name; OptionError for an unknown name or a bad parameter"""
    if name not in FORMULAS:
        raise OptionError(f"option loss={name!r} is not one of {list(LOSSES)}")
    if name in USES_EPSILON and not (isinstance(epsilon, (int, float)) and epsilon > 0 and math.isfinite(epsilon)):
        raise OptionError(f"option epsilon={epsilon!r} must be a number > 0")
    if name == "quantile" and not (isinstance(quantile, (int, float)) and 0 < quantile < 1):
        raise OptionError(f"option quantile={quantile!r} must be a number in (0, 1)")
    value, deriv, quadratic = FORMULAS[name]
    params = LossParams(1.0 if name == "half_mse" else 2.0, float(epsilon), float(quantile))
    curvature = params.c if quadratic else (1.0 if name == "huber" else math.inf)
    slope = {"huber": params.epsilon, "epsilon_insensitive": 1.0,
             "quantile": max(params.quantile, 1.0 - params.quantile)}.get(name, math.inf)
    return Loss(name, value, deriv, params, quadratic, curvature, slope)


def loss_from(settings) -> Loss:
    """the loss of a fit's settings: a dict of estimator parameters or an object with those attributes"""
    get = settings.get if isinstance(settings, dict) else (lambda k, d: getattr(settings, k, d))
    return make_loss(get("loss", "mse"), get("epsilon", 0.1), get("quantile", 0.5))


def describe(loss: Loss) -> str:
    """the loss of one row as a formula, r = H(x) − y"""
    p = loss.params
    return {"mse": "r²", "half_mse": "½·r²", "huber": f"huber(r, ε={p.epsilon:g})",
            "epsilon_insensitive": f"max(0, |r| − {p.epsilon:g})",
            "quantile": f"pinball(r, τ={p.quantile:g})"}[loss.name]

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
* ``squared_epsilon_insensitive``: max(0, |r| − ε)² (SGDRegressor's, no ½);
* ``quantile``: the pinball loss of level τ = ``quantile``: τ·(y − ŷ) when y ≥ ŷ, (1 − τ)·(ŷ − y)
  when y < ŷ (scikit-learn QuantileRegressor's objective with alpha=0).

The derivative is the one SGDRegressor uses at a kink: 0 at r = 0 (quantile), r itself or ±ε
at |r| = ε (huber: inside), 0 at |r| = ε (epsilon_insensitive).

Mapping to scikit-learn (tested in tests/test_losses.py): ``SGDRegressor(loss=L, epsilon=ε,
penalty=None, learning_rate="constant", eta0=lr, shuffle=False, average=A)`` makes the steps of
``GDRegressor(loss=L, epsilon=ε, lr=lr, batch_size=1, momentum=0, shuffle=False, preprocess="none",
average=A)`` for L in huber, epsilon_insensitive, squared_epsilon_insensitive (its L2 penalty
shrinks w before the gradient step, ours adds l2·w to the gradient: equal only without one).
``QuantileRegressor(quantile=τ, alpha=a)`` minimizes our quantile objective with alpha=a,
l1_ratio=1 and preprocess="none" (its L1 penalty acts on the coefficients in the data's units).

Only a quadratic loss has Gram statistics that hold its whole objective: the Gram path,
the closed-form exact answer, the OLS statistics, the loss surface and the graph consult
``Loss.is_quadratic`` (and ``Loss.c``, the squared loss's (c/2)·r² factor).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from ..errors import OptionError


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


def squared_epsilon_insensitive_value(r, p: LossParams):
    excess = abs(r) - p.epsilon
    outside = excess * ((excess > 0.0) * 1.0)
    return outside * outside


def squared_epsilon_insensitive_deriv(r, p: LossParams):
    excess = abs(r) - p.epsilon
    return 2.0 * (excess * ((excess > 0.0) * 1.0)) * ((r > 0.0) * 1.0 - (r < 0.0) * 1.0)


def squared_epsilon_insensitive_second(r, p: LossParams):
    return 2.0 * ((abs(r) > p.epsilon) * 1.0)


def quantile_value(r, p: LossParams):
    return r * ((r > 0.0) * (1.0 - p.quantile) - (r < 0.0) * p.quantile)


def quantile_deriv(r, p: LossParams):
    return (r > 0.0) * (1.0 - p.quantile) - (r < 0.0) * p.quantile


def squared_second(r, p: LossParams):
    return p.c + 0.0 * r


def huber_second(r, p: LossParams):
    return (abs(r) <= p.epsilon) * 1.0


class Spec(NamedTuple):
    """everything about one loss: its formulas, whether it is quadratic, its bounds, its words"""

    value: Callable
    deriv: Callable
    #: its second derivative for Newton's method (``gradfit.optimum.robust``); None where it has a kink
    second: Callable | None
    quadratic: bool
    curvature: Callable  # params -> an upper bound of the second derivative (inf with a kink)
    slope: Callable  # params -> an upper bound of |deriv| (inf when unbounded)
    text: Callable  # params -> the loss of one row as a formula
    c: float = 2.0  # a squared loss's (c/2)·r²
    reads: tuple = ()  # the settings (of LossParams) it reads: checked by make_loss


class Loss(NamedTuple):
    """a loss of the residual: ``value(r, params)`` per row and ``deriv(r, params)`` = d value / d ŷ"""

    name: str
    value: Callable
    deriv: Callable
    second: Callable | None
    params: LossParams
    is_quadratic: bool
    #: an upper bound of the second derivative (c for squared losses, 1 for Huber); inf where there is a kink
    curvature: float
    #: an upper bound of |deriv| (inf for squared losses)
    slope: float
    text: str

    @property
    def c(self) -> float:
        """the factor of a quadratic loss (c/2)·r²"""
        if not self.is_quadratic:
            raise ValueError(f"loss {self.name!r} is not quadratic")
        return self.params.c

    def mean(self, r) -> float:
        """mean loss over residuals r (a NumPy array)"""
        return float(self.value(r, self.params).mean()) if len(r) else 0.0


_INF = math.inf

#: the losses by name
FORMULAS = {
    "mse": Spec(squared_value, squared_deriv, squared_second, True, lambda p: p.c, lambda p: _INF, lambda p: "r²"),
    "half_mse": Spec(squared_value, squared_deriv, squared_second, True, lambda p: p.c, lambda p: _INF,
                     lambda p: "½·r²", c=1.0),
    "huber": Spec(huber_value, huber_deriv, huber_second, False, lambda p: 1.0, lambda p: p.epsilon,
                  lambda p: f"huber(r, ε={p.epsilon:g})", reads=("epsilon",)),
    "epsilon_insensitive": Spec(epsilon_insensitive_value, epsilon_insensitive_deriv, None, False, lambda p: _INF,
                                lambda p: 1.0, lambda p: f"max(0, |r| − {p.epsilon:g})", reads=("epsilon",)),
    "squared_epsilon_insensitive": Spec(
        squared_epsilon_insensitive_value, squared_epsilon_insensitive_deriv, squared_epsilon_insensitive_second,
        False, lambda p: 2.0, lambda p: _INF, lambda p: f"max(0, |r| − {p.epsilon:g})²", reads=("epsilon",)),
    "quantile": Spec(quantile_value, quantile_deriv, None, False, lambda p: _INF,
                     lambda p: max(p.quantile, 1.0 - p.quantile), lambda p: f"pinball(r, τ={p.quantile:g})",
                     reads=("quantile",)),
}
LOSSES = tuple(FORMULAS)

#: how make_loss checks each setting a loss reads: (test, what it must be)
_CHECKS = {
    "epsilon": (lambda v: isinstance(v, (int, float)) and 0 < v < math.inf, "a number > 0"),
    "quantile": (lambda v: isinstance(v, (int, float)) and 0 < v < 1, "a number in (0, 1)"),
}


def make_loss(name: str, epsilon: float = 0.1, quantile: float = 0.5) -> Loss:
    """the loss of this name; OptionError for an unknown name or a bad parameter"""
    if name not in FORMULAS:
        raise OptionError(f"option loss={name!r} is not one of {list(LOSSES)}")
    spec = FORMULAS[name]
    given = {"epsilon": epsilon, "quantile": quantile}
    for setting in spec.reads:
        ok, wanted = _CHECKS[setting]
        if not ok(given[setting]):
            raise OptionError(f"option {setting}={given[setting]!r} must be {wanted}")
    params = LossParams(spec.c, float(epsilon), float(quantile))
    return Loss(name, spec.value, spec.deriv, spec.second, params, spec.quadratic, spec.curvature(params),
                spec.slope(params), spec.text(params))


def squared(c: float) -> Loss:
    """the squared loss (c/2)·r² (a quadratic surrogate whose curvature is c)"""
    return make_loss("half_mse")._replace(name="squared", params=LossParams(c=float(c)), curvature=float(c),
                                          text=f"{c / 2:g}·r²")


def loss_from(settings) -> Loss:
    """the loss of a fit's settings: a dict of estimator parameters or an object with those attributes"""
    get = settings.get if isinstance(settings, dict) else (lambda k, d: getattr(settings, k, d))
    return make_loss(get("loss", "mse"), get("epsilon", 0.1), get("quantile", 0.5))


"""The pure-Python engine: lists and floats, written to be read like a textbook.

It is the reference every other engine is tested against, so it does the obvious
thing at every step: transform the rows once, then loop over them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

from ..descent.weights import WeightInfo
from ..optimum.accurate import DD, ResidualPass
from ..optimum.gram import GramStats
from .base import Engine, Rows


class Vec:
    """a list of floats with elementwise arithmetic, so optimizers run on plain Python"""

    __slots__ = ("v",)

    def __init__(self, values):
        self.v = [float(x) for x in values]

    def _zip(self, other, op):
        if isinstance(other, Vec):
            return Vec(op(a, b) for a, b in zip(self.v, other.v))
        return Vec(op(a, other) for a in self.v)

    def __add__(self, o):
        return self._zip(o, lambda a, b: a + b)

    def __sub__(self, o):
        return self._zip(o, lambda a, b: a - b)

    def __mul__(self, o):
        return self._zip(o, lambda a, b: a * b)

    def __truediv__(self, o):
        return self._zip(o, lambda a, b: a / b)

    def __pow__(self, p):
        return Vec(math.sqrt(a) if p == 0.5 else a**p for a in self.v)

    def __rsub__(self, o):
        return Vec(o - a for a in self.v)

    def __rtruediv__(self, o):
        return Vec(o / a for a in self.v)

    def __neg__(self):
        return Vec(-a for a in self.v)

    __radd__ = __add__
    __rmul__ = __mul__

    def __len__(self):
        return len(self.v)

    def __iter__(self):
        return iter(self.v)

    def __repr__(self):
        return f"Vec({self.v})"


def _row_indices(rows: Rows, n: int) -> Sequence[int]:
    if rows is None:
        return range(n)
    if isinstance(rows, slice):
        return range(*rows.indices(n))
    return [int(i) for i in rows]


class PythonEngine(Engine):
    """pure Python: data as lists of floats"""

    name = "python"
    gram_pays = False  # the reference engine computes every epoch from the rows

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu"):
        if dtype != "float64":
            raise ValueError("the python engine computes in float64 only")
        self.X = [[float(v) for v in row] for row in X]
        self.y = [float(v) for v in y]
        self.n_rows, self.n_features = len(self.X), len(self.X[0]) if self.X else 0
        self.w = [1.0] * self.n_rows  # the rows' weights (gradfit.descent.weights), all 1 unless ``weigh`` gives others

    def weigh(self, weights) -> None:
        super().weigh(weights)
        self.w = [1.0] * self.n_rows if weights is None else [float(v) for v in weights]

    def prepare(self, model, prep) -> None:
        super().prepare(model, prep)
        shift, scale = prep.x_shift, prep.x_scale
        self.Xt = [[(v - m) / s for v, m, s in zip(row, shift, scale)] for row in self.X]
        self.yt = [v - prep.y_shift for v in self.y]

    def vector(self, values) -> Vec:
        return Vec(values)

    def to_list(self, v: Vec) -> list[float]:
        return list(v.v)

    def loss_grad(self, theta: Vec, rows: Rows = None):
        d, loss = self.n_features, self.model.loss
        w = theta.v[:d]
        b = theta.v[d] if self.model.fit_intercept else 0.0
        idx = _row_indices(rows, self.n_rows)
        total, grad_w, grad_b = 0.0, [0.0] * d, 0.0
        weights = self.w if self.weights is not None else None
        for i in idx:
            x = self.Xt[i]
            r = sum(wj * xj for wj, xj in zip(w, x)) + b - self.yt[i]
            value, g = loss.value(r, loss.params), loss.deriv(r, loss.params)
            if weights is not None:  # row i's terms weighed by its weight (gradfit.descent.weights)
                value, g = weights[i] * value, weights[i] * g
            total += value
            for j in range(d):
                grad_w[j] += g * x[j]
            grad_b += g
        m = len(idx)
        grad = [gj / m for gj in grad_w] + ([grad_b / m] if self.model.fit_intercept else [])
        return total / m, Vec(grad)

    def residual_pass(self, coef, intercept, precise=False) -> ResidualPass:
        """precise: every residual and sum exact, in rational arithmetic, rounded once at the end"""
        import numpy as np

        num = Fraction if precise else float
        c, b = [num(float(v)) for v in coef], num(float(intercept))
        r = [num(y) - b - sum(num(v) * cj for v, cj in zip(row, c)) for row, y in zip(self.X, self.y)]
        wr = r if self.weights is None else [num(wi) * ri for wi, ri in zip(self.w, r)]
        grad = [sum(num(row[j]) * ri for row, ri in zip(self.X, wr)) for j in range(self.n_features)] + [sum(wr)]
        hi = [float(g) for g in grad]
        lo = [float(g - Fraction(h)) if precise else 0.0 for g, h in zip(grad, hi)]
        return ResidualPass(float(sum(ri * wri for ri, wri in zip(r, wr))), DD(np.array(hi), np.array(lo)))

    def design(self):
        import numpy as np

        return np.array(self.X, dtype=np.float64).reshape(self.n_rows, self.n_features), np.array(self.y)

    def max_row_sq_norm(self) -> float:
        extra = 1.0 if self.model.fit_intercept else 0.0
        return max(wi * (sum(v * v for v in x) + extra) for x, wi in zip(self.Xt, self.w))

    def gram(self) -> GramStats:
        import numpy as np  # only to hand the statistics to the exact solver

        n, d, w = self.n_rows, self.n_features, self.w
        total = math.fsum(w)
        x_mean = [math.fsum(wi * row[j] for row, wi in zip(self.X, w)) / total for j in range(d)]
        y_mean = math.fsum(wi * v for v, wi in zip(self.y, w)) / total
        xc = [[v - m for v, m in zip(row, x_mean)] for row in self.X]
        yc = [v - y_mean for v in self.y]
        xtx = [[math.fsum(wi * r[j] * r[k] for r, wi in zip(xc, w)) for k in range(d)] for j in range(d)]
        xty = [math.fsum(wi * r[j] * t for r, t, wi in zip(xc, yc, w)) for j in range(d)]
        yty = math.fsum(wi * t * t for t, wi in zip(yc, w))
        info = WeightInfo(total, 1.0, 0.0) if self.weights is not None else None
        return GramStats(n, np.array(x_mean), y_mean, np.array(xtx).reshape(d, d), np.array(xty), yty, weights=info)

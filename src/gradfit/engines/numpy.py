"""The NumPy engine: vectorized, and never copies X.

Preprocessing is folded into the parameters instead of the data: with v = w / s,
r = X·v + (b − shift·v + y_shift) − y, and the gradient is ((Xᵀr − shift·Σr) / s)·c/m.
"""

from __future__ import annotations

import numpy as np

from ..gram import GramStats, block_stats
from .base import Engine, Rows


class NumpyEngine(Engine):
    """NumPy arrays in float64 or float32"""

    name = "numpy"

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu"):
        self.dtype = np.dtype(dtype)
        self.X = np.asarray(X, dtype=self.dtype)
        self.y = np.asarray(y, dtype=self.dtype).reshape(-1)
        self.n_rows, self.n_features = self.X.shape

    def prepare(self, model, prep) -> None:
        super().prepare(model, prep)
        self.shift = np.asarray(prep.x_shift, dtype=self.dtype)
        self.scale = np.asarray(prep.x_scale, dtype=self.dtype)
        self.y_shift = self.dtype.type(prep.y_shift)

    def vector(self, values) -> np.ndarray:
        return np.array(values, dtype=self.dtype)

    def to_list(self, v: np.ndarray) -> list[float]:
        return [float(x) for x in v]

    def norm(self, v) -> float:
        return float(np.linalg.norm(v))

    def is_finite(self, v) -> bool:
        return bool(np.isfinite(v).all())

    def prox_l1(self, theta, threshold):
        d = self.n_features
        out = theta.copy()
        out[:d] = np.sign(theta[:d]) * np.maximum(np.abs(theta[:d]) - threshold, 0.0)
        return out

    def _raw_params(self, theta):
        """(v, offset) so that r = X·v + offset − y in raw units"""
        d = self.n_features
        v = theta[:d] / self.scale
        b = theta[d] if self.model.fit_intercept else 0.0
        return v, b - self.shift @ v + self.y_shift

    def loss_grad(self, theta, rows: Rows = None):
        X, y = (self.X, self.y) if rows is None else (self.X[rows], self.y[rows])
        v, offset = self._raw_params(theta)
        r = X @ v + offset - y
        m, c = r.shape[0], self.model.c
        rsum = r.sum()
        grad_w = (X.T @ r - self.shift * rsum) / self.scale * (c / m)
        grad = np.append(grad_w, rsum * (c / m)) if self.model.fit_intercept else grad_w
        return float(c / 2.0 * (r @ r) / m), grad.astype(self.dtype, copy=False)

    def residual_ss(self, coef, offset) -> float:
        v = np.asarray(coef, dtype=np.float64) / self.scale
        off = offset - float(self.shift @ v) + float(self.y_shift)
        total = 0.0
        for start in range(0, self.n_rows, 65536):
            r = self.X[start : start + 65536] @ v + off - self.y[start : start + 65536]
            total += float(r @ r)
        return total

    def max_row_sq_norm(self) -> float:
        best = 0.0
        for start in range(0, self.n_rows, 65536):
            xt = (self.X[start : start + 65536] - self.shift) / self.scale
            best = max(best, float(np.einsum("ij,ij->i", xt, xt).max()))
        return best + (1.0 if self.model.fit_intercept else 0.0)

    def gram(self) -> GramStats:
        return block_stats(self.X, self.y)

"""The full-batch shortcut: the loss and gradient over all rows from Gram statistics.

After one pass that gathers the Gram statistics, each full-batch epoch costs O(d²)
instead of O(n·d), and the loss stays exact near the optimum (see ``gradfit.optimum.gram``).
Minibatch and per-sample steps still go to the data engine underneath.
"""

from __future__ import annotations

import numpy as np

from ..optimum.gram import Quadratic, rss_around
from .base import Engine, Rows


class GramPath:
    """an engine whose all-rows loss_grad uses Gram algebra; everything else is delegated"""

    def __init__(self, engine: Engine, quad: Quadratic, w_star: np.ndarray, rss_star: float):
        self.engine = engine
        self.quad = quad
        self.w_star = w_star
        self.rss_star = rss_star
        self.b_star = quad.best_intercept(w_star)

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def objective_parts(self, theta_values: np.ndarray) -> tuple[float, np.ndarray]:
        """data loss and gradient at theta (float64 arrays)"""
        q, model = self.quad, self.quad.model
        c, n, d = model.loss.c, q.n, model.n_features
        w = theta_values[:d]
        b = theta_values[d] if model.fit_intercept else 0.0
        dw = w - self.w_star
        a = float(q.u @ dw) + (b - self.b_star)  # = u·w + b − ε, without cancelling near the optimum
        Adw = q.A @ dw
        loss = c / 2.0 * float(rss_around(dw, a, self.rss_star, n, gram=q.A)) / n
        grad_w = Adw * (c / n) + (c * a) * q.u
        grad = np.append(grad_w, c * a) if model.fit_intercept else grad_w
        return loss, grad

    def measures_beside(self, task) -> bool:
        """no: the objective costs O(d²) here, nothing worth a thread beside the steps"""
        return False

    def measures_in_epoch(self, task) -> bool:
        """no: the objective costs O(d²) here, no pass over the data to spare"""
        return False

    def loss_grad(self, theta, rows: Rows = None):
        if rows is not None:
            return self.engine.loss_grad(theta, rows)
        if isinstance(theta, np.ndarray):  # NumPy engines: no round trip through Python lists
            loss, grad = self.objective_parts(theta.astype(np.float64, copy=False))
            return loss, grad.astype(theta.dtype, copy=False)
        loss, grad = self.objective_parts(np.asarray(self.engine.to_list(theta), dtype=np.float64))
        return loss, self.engine.vector(grad.tolist())

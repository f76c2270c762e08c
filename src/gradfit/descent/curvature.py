"""The curvature of a squared-error objective: what ``lr="auto"`` and the verdict read.

The Hessian of the training objective in the descent's units is known exactly from the
Gram statistics. Its largest eigenvalue L bounds the stable step (1/L for plain gradient
descent), its smallest positive one μ sets how fast the slowest direction converges, and
the count of eigenvalues above rounding level says whether the optimum is unique.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..optimum.gram import GramStats, Quadratic
from .losses import squared
from .model import LinearModel
from .preprocess import Preprocessor
from .schedules import power_iteration

#: eigenvalues of the unit-diagonal Hessian below this share of the largest are rounding: not identified
RANK_RTOL = 1e-12
#: above this many parameters the full spectrum is not computed (only L, by power iteration)
SPECTRUM_MAX = 2000


@dataclass(frozen=True)
class Curvature:
    """extreme eigenvalues and rank of the objective's Hessian"""

    L: float  # largest eigenvalue
    mu: float  # smallest eigenvalue of the identified directions (0.0 when unknown)
    rank: int
    n_params: int

    @property
    def condition(self) -> float:
        return self.L / self.mu if self.mu > 0.0 else math.inf

    @property
    def identified(self) -> bool:
        """whether the optimum is a single point (the Hessian has full rank)"""
        return self.rank == self.n_params

    def heavy_ball(self) -> tuple[float, float]:
        """(lr, momentum) of Polyak's heavy ball for this curvature: the fastest fixed-step
        method for a quadratic, converging as ((√κ − 1)/(√κ + 1))ᵏ"""
        if not self.mu > 0.0:
            return 1.0 / self.L, 0.0
        root_L, root_mu = math.sqrt(self.L), math.sqrt(self.mu)
        return 4.0 / (root_L + root_mu) ** 2, ((root_L - root_mu) / (root_L + root_mu)) ** 2


def quadratic_model(model: LinearModel) -> LinearModel:
    """the model whose Hessian the curvature describes: the model itself for a quadratic loss; for a smooth
    one, the same model with the squared loss of its curvature bound, whose Hessian bounds its own (Huber:
    the half squared error); with a kink, the half squared error, which measures the conditioning"""
    loss = model.loss
    if loss.is_quadratic:
        return model
    return dataclasses.replace(model, loss=squared(loss.curvature if math.isfinite(loss.curvature) else 1.0))


def hessian(quad: Quadratic, model: LinearModel) -> np.ndarray:
    """Hessian of the training objective (data loss plus the L2 penalty) in the descent's units"""
    return quad.hessian() + np.diag(np.asarray(model.mask()) * model.l2)


def of_matrix(H: np.ndarray) -> Curvature:
    """the curvature of a symmetric positive semi-definite Hessian"""
    p = H.shape[0]
    if p == 0:
        return Curvature(0.0, 0.0, 0, 0)
    if p > SPECTRUM_MAX:
        return Curvature(power_iteration(H), 0.0, p, p)
    lam = np.linalg.eigvalsh(H)
    L = float(lam[-1])
    if not L > 0.0:
        return Curvature(0.0, 0.0, 0, p)
    rank = _rank(H)
    positive = lam[lam > RANK_RTOL * L * p]
    return Curvature(L, float(positive[0]) if len(positive) else 0.0, rank, p)


def _rank(H: np.ndarray) -> int:
    """numerical rank, judged on the unit-diagonal matrix so that column scales do not count"""
    s = np.sqrt(np.maximum(np.diag(H), 0.0))
    s[s == 0.0] = 1.0
    lam = np.linalg.eigvalsh(H / np.outer(s, s))
    return int((lam > RANK_RTOL * max(float(lam[-1]), 0.0) * len(lam)).sum())


def of_fit(quad: Quadratic, model: LinearModel) -> Curvature:
    """the curvature of the objective the descent runs on"""
    return of_matrix(hessian(quad, model))


def standardized(stats: GramStats, model: LinearModel) -> Curvature:
    """the curvature the same fit would have with preprocess='standardize' (where it can)"""
    model = quadratic_model(model)
    prep = Preprocessor.from_stats("auto", stats, model.fit_intercept)
    return of_fit(Quadratic.from_stats(stats, prep, model), model)

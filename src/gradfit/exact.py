"""The exact answer beside every fit: closed-form least squares, and the gap to it.

Solved on the Gram statistics: Cholesky when the system is well conditioned, an
SVD least-squares solve (minimum norm) when it is not, and coordinate descent to
machine precision when an L1 penalty leaves no closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from .gram import Quadratic
from .model import soft_threshold

#: above this condition number the normal equations lose too many digits for Cholesky
COND_LIMIT = 1e10


@dataclass
class ExactSolution:
    """the optimum of the same objective the descent minimizes"""

    theta: list[float]  # descent units
    coef: list[float]  # original units
    intercept: float
    objective: float
    method: str
    condition: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Gap:
    """how far a fit is from the exact answer"""

    param_distance: float  # ‖θ − θ*‖ / ‖θ*‖ in original units
    objective_gap: float  # objective(θ) − objective(θ*)
    objective: float
    exact_objective: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def solve_spd(M: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, str, float]:
    """solve M·w = r for symmetric positive semi-definite M: (w, method, condition number).

    M is first equilibrated (D⁻¹MD⁻¹ with D² = diag M), so badly scaled columns do not
    count as ill conditioning; Cholesky then runs with LAPACK's O(d²) condition estimate.
    Above ``COND_LIMIT`` (or when Cholesky fails) an SVD least-squares solve of the
    equilibrated system gives the minimum-norm answer instead.
    """
    if M.shape[0] == 0:
        return np.zeros(0), "cholesky", 1.0
    diag = np.diag(M)
    D = np.where(diag > 0.0, np.sqrt(np.where(diag > 0.0, diag, 1.0)), 1.0)
    E = M / np.outer(D, D)
    factor, info = scipy.linalg.lapack.dpotrf(E, lower=0, clean=1)
    if info == 0:
        rcond, _ = scipy.linalg.lapack.dpocon(factor, float(np.abs(E).sum(axis=0).max()))
        cond = 1.0 / rcond if rcond > 0.0 else math.inf
        if cond < COND_LIMIT:
            return scipy.linalg.cho_solve((factor, False), r / D) / D, "cholesky", cond
    z, _, _, sv = scipy.linalg.lstsq(E, r / D, cond=1e-13, lapack_driver="gelsd")
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0.0 else math.inf
    return z / D, "lstsq", cond


def least_squares_coef(quad: Quadratic) -> tuple[np.ndarray, str, float]:
    """the centered least-squares coefficients w* (descent units, no penalty): (w*, method, condition)"""
    return solve_spd(quad.A, quad.q)


def coordinate_descent(M, r, l2, l1, tol=1e-14, max_sweeps=100_000) -> np.ndarray:
    """minimize ½wᵀMw − rᵀw + ½·l2‖w‖² + l1‖w‖₁ to machine precision"""
    d = len(r)
    w = np.zeros(d)
    Mw = np.zeros(d)
    for _ in range(max_sweeps):
        biggest = 0.0
        for j in range(d):
            denom = M[j, j] + l2
            if denom <= 0.0:
                continue
            z = r[j] - (Mw[j] - M[j, j] * w[j])
            new = soft_threshold(z, l1) / denom
            delta = new - w[j]
            if delta != 0.0:
                Mw += M[:, j] * delta
                w[j] = new
                biggest = max(biggest, abs(delta))
        if biggest <= tol * max(1.0, float(np.abs(w).max(initial=0.0))):
            break
    return w


def solve(quad: Quadratic, least_squares=None) -> tuple[list[float], str, float]:
    """theta* in descent units: (theta, method, condition number)

    ``least_squares``: the result of ``least_squares_coef(quad)`` if already at hand; an
    unpenalized model with an intercept has exactly that answer, so it is not solved again.
    """
    model = quad.model
    M, r = quad.coef_system()
    if least_squares is not None and model.alpha == 0.0 and model.fit_intercept:
        w, method, cond = least_squares
    elif model.l1 > 0.0:
        w = coordinate_descent(M, r, model.l2, model.l1)
        method, cond = "coordinate-descent", float(np.linalg.cond(M + model.l2 * np.eye(len(r))))
    else:
        w, method, cond = solve_spd(M + model.l2 * np.eye(len(r)), r)
    b = quad.best_intercept(w)
    return model.join(w.tolist(), b), method, cond


def gap(coef, intercept, exact: ExactSolution, objective: float) -> Gap:
    """the distance between a fit (original units) and the exact solution"""
    fit = np.append(np.asarray(coef, dtype=np.float64), intercept)
    best = np.append(np.asarray(exact.coef, dtype=np.float64), exact.intercept)
    scale = float(np.linalg.norm(best))
    dist = float(np.linalg.norm(fit - best)) / (scale if scale > 0 else 1.0)
    return Gap(dist, objective - exact.objective, objective, exact.objective)

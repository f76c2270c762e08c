"""The exact answer beside every fit: least squares to the digits the data allows, and the gap to it.

Unpenalized least squares is solved in up to three steps, each only when the one before
cannot promise enough digits:

1. the Gram statistics (one pass, already gathered): Cholesky of the column-equilibrated
   normal equations, or a minimum-norm SVD solve when they are singular; when the conditioning
   and the size of the residuals promise ``TARGET_DIGITS`` for every coefficient and for the
   residual sum of squares from the statistics alone (``gram_answer``), it ends here, without
   reading the data again;
2. a check at that answer, Σr² and [Xᵀr, Σr]: the correction it implies estimates, per
   coefficient, how many digits are right (``digits``); at least ``TARGET_DIGITS`` ends here.
   The sums come from the residuals the statistics pass measured at a pilot answer
   (``pilot``, ``normal.pilot_check``) where those keep the digits, else from a pass over the data;
3. refinement with residuals and gradients in double-double (``gradfit.optimum.accurate``): with the
   data in memory, Björck's iterative refinement of the augmented system [I D; Dᵀ 0] on a
   Householder QR of the centered, column-scaled design D; otherwise (Dask data too large to
   gather) refinement of the normal equations, one distributed residual pass per step.

Step 1, the check's carried sums and the normal equations' refinement are in ``normal``, the QR
refinement in ``qr``, the digits and the refinement loop in ``refine``; this module holds the records
(``ExactSolution``, ``Gap``) and the exact answer of the model's objective, penalized or not.

The refined answer is the least-squares solution of the data as stored, to about the last
digit of float64, whatever the conditioning (the condition number then only says how much a
rounding of the data itself would move it). ``ExactSolution.method`` says which steps ran and
``digits`` what they promise. A design that is numerically rank deficient gets the
minimum-norm answer, its ``rank``, and an ``AccuracyWarning``, never a silent truncation.
Penalized objectives are solved on the Gram statistics (coordinate descent for an L1 part).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..descent.model import soft_threshold
from .gram import GramStats, Quadratic
from .normal import NormalSystem, gram_answer, normal_refined, pilot_check, solve_spd, spd_solver
from .qr import qr_refined
from .refine import TARGET_DIGITS, LeastSquares, digits_of, params_of, relative_step


@dataclass
class ExactSolution:
    """the optimum of the same objective the descent minimizes"""

    theta: list[float]  # descent units
    coef: list[float]  # original units
    intercept: float
    objective: float
    method: str  # "cholesky", "cholesky+refinement", "qr+refinement", "lstsq", "lstsq+refinement", ...
    condition: float  # of the column-equilibrated normal equations
    #: significant digits promised for every coefficient, of the least-squares answer for the data as
    #: stored (estimated from the last correction); None for penalized objectives
    digits: float | None = None
    rank: int | None = None  # numerical rank of the design (with its intercept column)
    rss: float | None = None  # residual sum of squares at the answer, measured from the data (unpenalized)
    #: R with RᵀR = the design's cross-product matrix (X centered when there is an intercept), from a
    #: QR of the data; None where the answer came from the Gram statistics
    factor: list[list[float]] | None = None

    def to_dict(self) -> dict:
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self.__dict__.items()}


@dataclass
class Gap:
    """how far a fit is from the exact answer"""

    param_distance: float  # ‖θ − θ*‖ / ‖θ*‖ in original units
    objective_gap: float  # objective(θ) − objective(θ*)
    objective: float
    exact_objective: float
    fitted_distance: float = math.nan  # RMS(ŷ − ŷ*) / RMS(ŷ*) on the training data
    identified: bool = True  # whether the optimum is a single point

    @property
    def distance(self) -> float:
        """what decides convergence: the parameters' distance, or the fitted values' when the optimum is not unique"""
        return self.param_distance if self.identified else self.fitted_distance

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def least_squares(engine, stats: GramStats, *, fit_intercept: bool, refine: bool = True) -> LeastSquares:
    """the least-squares answer of the engine's data, to the digits the data allows (see the module docstring)

    ``refine=False`` stops after the check pass, which still measures the residual sum of squares
    (or before it, when the Gram statistics promise enough digits of it).
    """
    system = NormalSystem.of(stats, fit_intercept)
    solver = spd_solver(system.gram)
    coef = solver.solve(system.rhs)
    b = system.intercept(coef)
    k = len(coef) + int(fit_intercept)
    if solver.method == "cholesky":
        known = gram_answer(stats, system, solver, coef)
        if known.rss_digits >= TARGET_DIGITS and (not refine or known.digits >= TARGET_DIGITS):
            return LeastSquares(coef, b, known.rss, "cholesky", solver.condition, known.digits,
                                solver.rank + (k - len(coef)), None)
    carried = pilot_check(stats, system, solver, coef, b)
    check = carried.check if carried is not None else engine.residual_pass(coef, b)
    dc, db = system.correction(solver.solve, check.grad.value)
    digits = digits_of(relative_step(params_of(coef, b, fit_intercept), params_of(dc, db, fit_intercept)))
    if carried is not None:
        digits = min(digits, carried.digits)
    if not refine or (solver.method == "cholesky" and digits >= TARGET_DIGITS):
        return LeastSquares(coef, b, check.ss, solver.method, solver.condition, digits, solver.rank + (k - len(coef)),
                            None)
    design = engine.design()
    if design is not None:
        return qr_refined(*design, fit_intercept, coef, b, weights=engine.weights)
    return normal_refined(engine, system, solver, coef, b)


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


def solve(quad: Quadratic, prep, anchor: LeastSquares, *, engine, stats: GramStats,
          objective: Callable[[np.ndarray], tuple[float, np.ndarray]]) -> ExactSolution:
    """the exact optimum of the model's objective

    Unpenalized: the least-squares answer (``anchor`` when the model has an intercept, else the
    no-intercept design's own). Penalized: solved on the Gram statistics. ``objective``: the
    data loss at theta (the Gram path's, so the fit and the exact answer are measured alike).
    """
    model = quad.model
    if model.alpha == 0.0:
        ls = anchor if model.fit_intercept else least_squares(engine, stats, fit_intercept=False)
        coef, intercept = ls.coef.tolist(), float(ls.intercept) if model.fit_intercept else 0.0
        theta = prep.to_transformed(coef, intercept, model)
        factor = None if ls.factor is None else ls.factor.tolist()
        return ExactSolution(theta, coef, intercept, objective(np.asarray(theta))[0], ls.method, ls.condition,
                             ls.digits, ls.rank, ls.rss, factor)
    M, r = quad.coef_system()
    if model.l1 > 0.0:
        w = coordinate_descent(M, r, model.l2, model.l1)
        method, cond = "coordinate-descent", float(np.linalg.cond(M + model.l2 * np.eye(len(r))))
    else:
        w, method, cond = solve_spd(M + model.l2 * np.eye(len(r)), r)
    theta = model.join(w.tolist(), quad.best_intercept(w))
    coef, intercept = prep.to_original(theta, model)
    return ExactSolution(theta, coef, intercept, objective(np.asarray(theta))[0] + model.penalty(theta), method, cond)

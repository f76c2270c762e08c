"""The normal equations from the Gram statistics: solved once, judged, and refined with passes over the data.

The equations are equilibrated (unit diagonal) and solved by Cholesky with LAPACK's condition
estimate, or, when singular or worse than ``COND_LIMIT``, by a minimum-norm eigen solve
(``spd_solver``). ``gram_answer`` estimates, before any pass over the data, how many digits the
statistics alone promise for the coefficients and the residual sum of squares. Data that is not
in memory as a dense design (large Dask data, sparse X) is refined on these equations, one
double-double residual pass per step (``normal_refined``).
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, NamedTuple

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from ..errors import AccuracyWarning
from .accurate import ResidualPass
from .gram import STATS_BLOCK, GramStats, block_stats
from .pilot import Pilot, carry
from .refine import TARGET_DIGITS, LeastSquares, digits_of, refine

#: above this condition number the normal equations lose too many digits for Cholesky
COND_LIMIT = 1e10
#: eigenvalues of the equilibrated normal equations below this share of the largest count as zero
SPD_RTOL = 1e-13


class SpdSolver(NamedTuple):
    """w = M⁺·r for one symmetric positive semi-definite M, factored once"""

    solve: Callable[[np.ndarray], np.ndarray]
    method: str  # "cholesky" or "lstsq" (minimum norm)
    condition: float
    rank: int


def spd_solver(M: np.ndarray) -> SpdSolver:
    """a solver of M·w = r for symmetric positive semi-definite M.

    M is first equilibrated (D⁻¹MD⁻¹ with D² = diag M), so badly scaled columns do not
    count as ill conditioning; Cholesky then runs with LAPACK's O(d²) condition estimate.
    Above ``COND_LIMIT`` (or when Cholesky fails) the eigen-decomposition of the equilibrated
    matrix gives the minimum-norm answer, eigenvalues below ``SPD_RTOL`` of the largest dropped.
    """
    d = M.shape[0]
    if d == 0:
        return SpdSolver(lambda r: np.zeros(0), "cholesky", 1.0, 0)
    diag = np.diag(M)
    D = np.where(diag > 0.0, np.sqrt(np.where(diag > 0.0, diag, 1.0)), 1.0)
    E = M / np.outer(D, D)
    factor, info = scipy.linalg.lapack.dpotrf(E, lower=0, clean=1)
    if info == 0:
        rcond, _ = scipy.linalg.lapack.dpocon(factor, float(np.abs(E).sum(axis=0).max()))
        cond = 1.0 / rcond if rcond > 0.0 else math.inf
        if cond < COND_LIMIT:
            return SpdSolver(lambda r: scipy.linalg.cho_solve((factor, False), r / D) / D, "cholesky", cond, d)
    lam, V = np.linalg.eigh(E)
    keep = lam > SPD_RTOL * lam[-1]
    Vk, lk = V[:, keep], lam[keep]
    cond = float(lam[-1] / lam[0]) if lam[0] > 0.0 else math.inf
    return SpdSolver(lambda r: (Vk @ ((Vk.T @ (r / D)) / lk)) / D, "lstsq", cond, int(keep.sum()))


def solve_spd(M: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, str, float]:
    """solve M·w = r once (see ``spd_solver``): (w, method, condition number)"""
    solver = spd_solver(M)
    return solver.solve(r), solver.method, solver.condition


class NormalSystem(NamedTuple):
    """the normal equations of the design [X, 1] (in centered form) or X, from the Gram statistics"""

    fit_intercept: bool
    n: int
    shift: np.ndarray  # x̄ with an intercept, zeros without
    gram: np.ndarray  # X_cᵀX_c, or XᵀX
    rhs: np.ndarray  # X_cᵀy_c, or Xᵀy
    y_mean: float

    @classmethod
    def of(cls, stats: GramStats, fit_intercept: bool) -> "NormalSystem":
        xbar = np.asarray(stats.x_mean, dtype=np.float64)
        if fit_intercept:
            return cls(True, stats.n, xbar, stats.xtx, stats.xty, stats.y_mean)
        return cls(False, stats.n, np.zeros_like(xbar), stats.xtx + stats.n * np.outer(xbar, xbar),
                   stats.xty + stats.n * stats.y_mean * xbar, stats.y_mean)

    def intercept(self, coef: np.ndarray) -> float:
        return self.y_mean - float(self.shift @ coef) if self.fit_intercept else 0.0

    def correction(self, solve, grad: np.ndarray) -> tuple[np.ndarray, float]:
        """(δcoef, δb) that the residual's gradient [Xᵀr, Σr] asks for"""
        d = len(self.shift)
        if not self.fit_intercept:
            return solve(grad[:d]), 0.0
        dc = solve(grad[:d] - self.shift * grad[d])
        return dc, grad[d] / self.n - float(self.shift @ dc)


class GramAnswer(NamedTuple):
    """what the Gram statistics alone promise about their least-squares answer"""

    rss: float  # residual sum of squares, from the statistics (a form stationary at the answer)
    digits: float  # significant digits estimated for every coefficient
    rss_digits: float  # significant digits estimated for rss


def gram_answer(stats: GramStats, system: NormalSystem, solver: SpdSolver, coef: np.ndarray) -> GramAnswer:
    """the a-priori accuracy of the Gram answer ``coef``, without a pass over the data.

    With δ = ``stats.rounding`` (GRAM_ROUNDING·(1 + max |x̄ⱼ|/σⱼ)) the relative rounding of the statistics,
    the
    equilibrated coefficients z = D·coef move by about κ·δ·‖z‖, so coefficient j keeps
    −log10(κ·δ·‖z‖/|zⱼ|) digits; RSS = yᵀy − 2·coefᵀXᵀy + coefᵀXᵀX·coef rounds by about
    4·δ·yᵀy, so it keeps −log10(4·δ·yᵀy / RSS) (none when the fit is near perfect).
    """
    delta = stats.rounding
    yy = stats.yty + (0.0 if system.fit_intercept else stats.n * stats.y_mean**2)
    rss = yy - 2.0 * float(coef @ system.rhs) + float(coef @ system.gram @ coef)
    z = np.abs(coef) * np.sqrt(np.maximum(np.diag(system.gram), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_z = float(np.linalg.norm(z)) / z.min(initial=np.inf) if len(z) else 1.0
        digits = digits_of(solver.condition * delta * spread_z) if np.isfinite(spread_z) else 0.0
        rss_digits = digits_of(4.0 * delta * yy / rss) if rss > 0.0 else 0.0
    return GramAnswer(max(rss, 0.0), digits, rss_digits)


#: rows of the head that the pilot answer is fitted to
PILOT_ROWS = 4 * STATS_BLOCK


def head_pilot(X, y, weights: np.ndarray | None = None, rows: int = PILOT_ROWS) -> Pilot | None:
    """the least-squares answer (with an intercept) of the first ``rows`` rows, from their statistics: a pilot for
    the statistics pass (``gram.block_stats(pilot=)``); None where those rows hold a value that is not finite, or
    no weight (the pass then reports the data, or gathers no residuals)"""
    w = None if weights is None else weights[:rows]
    head = block_stats(X[:rows], y[:rows], workers=1, weights=w)
    if not head.finite or head.weight_total <= 0.0:
        return None
    system = NormalSystem.of(head, True)
    coef = spd_solver(system.gram).solve(system.rhs)
    return Pilot(coef, system.intercept(coef))


class PilotCheck(NamedTuple):
    """the check pass's sums at the Gram answer, carried from the statistics pass's pilot (no read of the data)"""

    check: ResidualPass
    digits: float  # the most digits its gradient can reveal for every coefficient


def pilot_check(stats: GramStats, system: NormalSystem, solver: SpdSolver, coef, b: float) -> PilotCheck | None:
    """the check at (coef, b) from ``stats.pilot`` (``gradfit.optimum.pilot``), when it keeps ``TARGET_DIGITS``
    of the residual sum of squares and of every coefficient; None otherwise (the data is then read again).

    The carried gradient rounds by about δ·‖Δz‖₁ in equilibrated units (Δz the step from the pilot), which moves
    the equilibrated coefficients z by about κ·δ·‖Δz‖₁: as in ``gram_answer`` with the step in place of z.
    """
    if stats.pilot is None:
        return None
    delta = stats.rounding
    carried = carry(stats.pilot, coef, b, stats.x_mean, stats.xtx, stats.weight_total, delta)
    z = np.abs(coef) * np.sqrt(np.maximum(np.diag(system.gram), 0.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a singular design promises nothing
        moved = solver.condition * delta * (carried.step / z.min(initial=np.inf) if len(z) else 0.0)
    digits = digits_of(moved) if np.isfinite(moved) else 0.0
    if min(digits, carried.rss_digits) < TARGET_DIGITS:
        return None
    return PilotCheck(carried.check, digits)


def normal_refined(engine, system: NormalSystem, solver: SpdSolver, coef, b) -> LeastSquares:
    """refinement of the normal equations, one double-double residual pass over the data per step"""
    coef, b, digits = refine(lambda c, b0: engine.residual_pass(c, b0, precise=True),
                             lambda g: system.correction(solver.solve, g), coef, b, system.fit_intercept)
    k = len(coef) + int(system.fit_intercept)
    rank = solver.rank + (k - len(coef))
    if rank < k or digits < TARGET_DIGITS:
        warnings.warn(f"the exact answer was refined from the Gram statistics alone (no dense design in memory: "
                      f"Dask or sparse data): "
                      f"condition number {solver.condition:.3g}, rank {rank} of {k}, about {digits:.1f} correct "
                      "digits; fit dense in-memory data (engine='numpy') for a QR of the design", AccuracyWarning,
                      stacklevel=4)
    ss = engine.residual_pass(coef, b, precise=True).ss
    return LeastSquares(coef, b, ss, f"{solver.method}+refinement", solver.condition, digits, rank, None)


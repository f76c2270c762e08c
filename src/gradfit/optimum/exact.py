"""The exact answer beside every fit: least squares to the digits the data allows, and the gap to it.

Unpenalized least squares is solved in up to three steps, each only when the one before
cannot promise enough digits:

1. the Gram statistics (one pass, already gathered): Cholesky of the column-equilibrated
   normal equations, or a minimum-norm SVD solve when they are singular; when the conditioning
   and the size of the residuals promise ``TARGET_DIGITS`` for every coefficient and for the
   residual sum of squares from the statistics alone (``gram_answer``), it ends here, without
   reading the data again;
2. a check pass over the data at that answer: the correction it implies estimates, per
   coefficient, how many digits are right (``digits``); at least ``TARGET_DIGITS`` ends here;
3. refinement with residuals and gradients in double-double (``gradfit.optimum.accurate``): with the
   data in memory, Björck's iterative refinement of the augmented system [I D; Dᵀ 0] on a
   Householder QR of the centered, column-scaled design D; otherwise (Dask data too large to
   gather) refinement of the normal equations, one distributed residual pass per step.

The refined answer is the least-squares solution of the data as stored, to about the last
digit of float64, whatever the conditioning (the condition number then only says how much a
rounding of the data itself would move it). ``ExactSolution.method`` says which steps ran and
``digits`` what they promise. A design that is numerically rank deficient gets the
minimum-norm answer, its ``rank``, and an ``AccuracyWarning``, never a silent truncation.
Penalized objectives are solved on the Gram statistics (coordinate descent for an L1 part).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from ..descent.model import soft_threshold
from ..errors import AccuracyWarning
from . import accurate
from .gram import GramStats, Quadratic

#: above this condition number the normal equations lose too many digits for Cholesky
COND_LIMIT = 1e10
#: eigenvalues of the equilibrated normal equations below this share of the largest count as zero
SPD_RTOL = 1e-13
#: the check pass accepts the Gram answer when it promises at least this many digits for every coefficient
TARGET_DIGITS = 13.0
#: the most digits promised: float64 holds 15 to 16 significant decimal digits
FLOAT_DIGITS = 15.0
#: refinement steps at most (each gains about −log10(κ·ε) digits)
MAX_REFINE = 10
#: relative rounding assumed of accumulated Gram statistics, per unit of 1 + |column mean| / its spread
#: (merging partitions subtracts column means, which rounds in proportion to their size); calibrated on
#: designs of condition 1 to 1e6 and R² up to 1 − 1e-12, where the estimates it gives stayed at least
#: 0.9 digits below the measured accuracy (tests/test_exact.py)
GRAM_ROUNDING = 2.0 * np.finfo(np.float64).eps


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


class LeastSquares(NamedTuple):
    """the unpenalized least-squares answer of a design, in original units"""

    coef: np.ndarray
    intercept: float
    rss: float
    method: str
    condition: float
    digits: float
    rank: int
    factor: np.ndarray | None  # see ExactSolution.factor


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


class ScaledDesign(NamedTuple):
    """D̃ = [(X − x̄)/s, 1/√n] (or X/s without an intercept): the design, centered and column-scaled.

    D·(coef, b) = D̃·z with coef = z_w/s and b = z_b/√n − x̄·coef. With row weights w̃ (mean 1),
    x̄ and s are weighted and ``matrix`` is W̃^½·D̃, the design of the weighted problem.
    """

    fit_intercept: bool
    n: int
    shift: np.ndarray
    scale: np.ndarray
    root_w: np.ndarray | None = None  # √w̃ of each row, None: unweighted

    @classmethod
    def of(cls, X: np.ndarray, fit_intercept: bool, weights: np.ndarray | None = None) -> "ScaledDesign":
        n, d = X.shape
        if fit_intercept:
            shift = X.mean(axis=0) if weights is None else (weights @ X) / weights.sum()
        else:
            shift = np.zeros(d)
        w = np.ones(n) if weights is None else weights
        norms = np.sqrt(sum((w[i : i + 65536, None] * (X[i : i + 65536] - shift) ** 2).sum(axis=0)
                            for i in range(0, n, 65536)))
        root_w = None if weights is None else np.sqrt(weights)
        return cls(fit_intercept, n, shift, np.where(norms > 0.0, norms, 1.0), root_w)

    def matrix(self, X: np.ndarray) -> np.ndarray:
        Xs = (X - self.shift) / self.scale
        D = np.column_stack([Xs, np.full(self.n, 1.0 / math.sqrt(self.n))]) if self.fit_intercept else Xs
        return D if self.root_w is None else D * self.root_w[:, None]

    def scaled_grad(self, grad: np.ndarray) -> np.ndarray:
        """D̃ᵀr from Dᵀr = [Xᵀr, Σr]"""
        d = len(self.shift)
        gw = (grad[:d] - self.shift * grad[d]) / self.scale
        return np.append(gw, grad[d] / math.sqrt(self.n)) if self.fit_intercept else gw

    def raw(self, z: np.ndarray) -> tuple[np.ndarray, float]:
        """(coef, b) of the scaled parameters z"""
        d = len(self.shift)
        coef = z[:d] / self.scale
        return coef, float(z[d] / math.sqrt(self.n) - self.shift @ coef) if self.fit_intercept else 0.0

    def factor(self, R: np.ndarray) -> np.ndarray:
        """R of X − x̄ (or X) from the R of D̃"""
        d = len(self.shift)
        return R[:d, :d] * self.scale


def _params(coef, b: float, fit_intercept: bool) -> np.ndarray:
    return np.append(coef, b) if fit_intercept else np.asarray(coef, dtype=np.float64)


def relative_step(params: np.ndarray, step: np.ndarray) -> float:
    """max over parameters of |step| / |param|: the relative error a correction of this size reveals"""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(step == 0.0, 0.0, np.abs(step) / np.abs(params))
    return float(rel.max(initial=0.0))


def digits_of(rel: float) -> float:
    """significant digits left by a relative error ``rel``"""
    return FLOAT_DIGITS if rel <= 10.0**-FLOAT_DIGITS else max(0.0, -math.log10(rel))


class GramAnswer(NamedTuple):
    """what the Gram statistics alone promise about their least-squares answer"""

    rss: float  # residual sum of squares, from the statistics (a form stationary at the answer)
    digits: float  # significant digits estimated for every coefficient
    rss_digits: float  # significant digits estimated for rss


def gram_answer(stats: GramStats, system: NormalSystem, solver: SpdSolver, coef: np.ndarray) -> GramAnswer:
    """the a-priori accuracy of the Gram answer ``coef``, without a pass over the data.

    With δ = GRAM_ROUNDING·(1 + max |x̄ⱼ|/σⱼ) the relative rounding of the statistics, the
    equilibrated coefficients z = D·coef move by about κ·δ·‖z‖, so coefficient j keeps
    −log10(κ·δ·‖z‖/|zⱼ|) digits; RSS = yᵀy − 2·coefᵀXᵀy + coefᵀXᵀX·coef rounds by about
    4·δ·yᵀy, so it keeps −log10(4·δ·yᵀy / RSS) (none when the fit is near perfect).
    """
    spread = np.sqrt(np.maximum(np.diag(stats.xtx), 0.0) / stats.n)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(spread > 0.0, np.abs(stats.x_mean) / spread, np.inf)
    delta = GRAM_ROUNDING * (1.0 + float(means.max(initial=0.0)))
    yy = stats.yty + (0.0 if system.fit_intercept else stats.n * stats.y_mean**2)
    rss = yy - 2.0 * float(coef @ system.rhs) + float(coef @ system.gram @ coef)
    z = np.abs(coef) * np.sqrt(np.maximum(np.diag(system.gram), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_z = float(np.linalg.norm(z)) / z.min(initial=np.inf) if len(z) else 1.0
        digits = digits_of(solver.condition * delta * spread_z) if np.isfinite(spread_z) else 0.0
        rss_digits = digits_of(4.0 * delta * yy / rss) if rss > 0.0 else 0.0
    return GramAnswer(max(rss, 0.0), digits, rss_digits)


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
    check = engine.residual_pass(coef, b)
    dc, db = system.correction(solver.solve, check.grad.value)
    digits = digits_of(relative_step(_params(coef, b, fit_intercept), _params(dc, db, fit_intercept)))
    if not refine or (solver.method == "cholesky" and digits >= TARGET_DIGITS):
        return LeastSquares(coef, b, check.ss, solver.method, solver.condition, digits, solver.rank + (k - len(coef)),
                            None)
    design = engine.design()
    if design is not None:
        return qr_refined(*design, fit_intercept, coef, b, weights=engine.weights)
    return _normal_refined(engine, system, solver, coef, b)


def _refine(measure, correct, coef: np.ndarray, b: float, fit_intercept: bool):
    """iterative refinement: (coef, b, digits) after corrections ``correct(gradient)`` until they stall"""
    last, digits = math.inf, 0.0
    for _ in range(MAX_REFINE):
        dc, db = correct(measure(coef, b).grad.value)
        rel = relative_step(_params(coef, b, fit_intercept), _params(dc, db, fit_intercept))
        if rel > last:  # diverging: the conditioning is beyond these corrections; keep the better point
            break
        coef, b, digits = coef + dc, b + db, digits_of(rel)
        if digits >= FLOAT_DIGITS or rel > 0.5 * last:
            break
        last = rel
    return coef, b, digits


def _normal_refined(engine, system: NormalSystem, solver: SpdSolver, coef, b) -> LeastSquares:
    """refinement of the normal equations, one double-double residual pass over the data per step"""
    coef, b, digits = _refine(lambda c, b0: engine.residual_pass(c, b0, precise=True),
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


def qr_refined(X: np.ndarray, y: np.ndarray, fit_intercept: bool, coef: np.ndarray, b: float,
               weights: np.ndarray | None = None) -> LeastSquares:
    """the least-squares answer from a QR of the centered, column-scaled design, refined in double-double

    Full rank: Björck's refinement of the augmented system, whose fixed point is the exact
    least-squares answer of the data as stored. Numerically rank deficient (singular values
    below max(n, k)·ε of the largest): the minimum-norm answer, with a warning. With row
    ``weights`` the QR is of the weighted design W^½·D̃ and the refinement corrects by the
    semi-normal equations RᵀR·δ = D̃ᵀW·r with the weighted residuals in double-double
    (``accurate.residual_pass``), so its fixed point is the exact weighted answer.
    """
    sd = ScaledDesign.of(X, fit_intercept, weights)
    Q, R = np.linalg.qr(sd.matrix(X))
    U, sv, Vt = np.linalg.svd(R, full_matrices=False)
    k = R.shape[1]
    rank = int((sv > max(X.shape[0], k) * np.finfo(float).eps * sv[0]).sum()) if k else 0
    cond = float((sv[0] / sv[-1]) ** 2) if k and sv[-1] > 0.0 and len(sv) == k else math.inf
    def measure(c, b0):
        return accurate.residual_pass(X, y, c, b0, precise=True, weights=weights)

    if rank == k and weights is None:
        coef, b, digits = _augmented(X, y, sd, Q, R, coef, b)
        method = "qr+refinement"
    elif rank == k:  # the semi-normal equations RᵀR·δz = D̃ᵀW·r
        coef, b, digits = _refine(measure, lambda g: sd.raw(scipy.linalg.cho_solve((R, False), sd.scaled_grad(g))),
                                  coef, b, fit_intercept)
        method = "qr+refinement"
    else:
        Ur, Vr, sr = U[:, :rank], Vt[:rank].T, sv[:rank]
        yw = y if weights is None else y * sd.root_w
        coef, b = sd.raw(Vr @ ((Ur.T @ (Q.T @ yw)) / sr))
        coef, b, digits = _refine(measure, lambda g: sd.raw(Vr @ ((Vr.T @ sd.scaled_grad(g)) / sr**2)), coef, b,
                                  fit_intercept)
        method = "lstsq+refinement"
        if rank < min(X.shape[0], k):
            _warn_rank(Vt[rank:], rank, k, fit_intercept)
    ss = measure(coef, b).ss
    return LeastSquares(coef, b, ss, method, cond, digits, rank, sd.factor(R) if rank == k else None)


def _augmented(X, y, sd: ScaledDesign, Q: np.ndarray, R: np.ndarray, coef: np.ndarray, b: float):
    """(coef, b, digits): refinement of [I D̃; D̃ᵀ 0]·[r; z] = [y; 0] with double-double residuals (Björck 1967)"""
    r = accurate.residuals(X, y, coef, b).value
    last, digits = math.inf, 0.0
    for _ in range(MAX_REFINE):
        res = accurate.residuals(X, y, coef, b)
        f = (res.hi - r) + res.lo  # y − D·x − r
        g = -sd.scaled_grad(accurate.gradient(X, accurate.DD(r, np.zeros_like(r))).value)  # 0 − D̃ᵀr
        h = scipy.linalg.solve_triangular(R, g, trans="T")
        d1 = Q.T @ f
        dc, db = sd.raw(scipy.linalg.solve_triangular(R, d1 - h))
        rel = relative_step(_params(coef, b, sd.fit_intercept), _params(dc, db, sd.fit_intercept))
        if rel > last:
            break
        coef, b, r = coef + dc, b + db, r + (Q @ h + (f - Q @ d1))
        digits = digits_of(rel)
        if digits >= FLOAT_DIGITS or rel > 0.5 * last:
            break
        last = rel
    return coef, b, digits


def _warn_rank(null: np.ndarray, rank: int, k: int, fit_intercept: bool) -> None:
    """say which columns are collinear, and that the answer is the minimum-norm one"""
    involved = np.flatnonzero(np.abs(null).max(axis=0) > 1e-8)
    d = k - int(fit_intercept)
    names = [f"x{j}" if j < d else "the intercept" for j in involved]
    warnings.warn(f"the design has numerical rank {rank} of {k}: columns {', '.join(names)} are collinear, so the "
                  "least-squares answer is not unique; the exact answer is the minimum-norm one", AccuracyWarning,
                  stacklevel=4)


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

"""The least-squares answer of data in memory: a Householder QR of the centered, column-scaled design,
refined in double-double (Björck's refinement of the augmented system [I D̃; D̃ᵀ 0]).

Its fixed point is the least-squares answer of the data as stored, whatever the conditioning. A
weighted fit factors the weighted design and is refined by the semi-normal equations; a
numerically rank-deficient design gets the minimum-norm answer and an ``AccuracyWarning`` naming
the collinear columns. ``ScaledDesign`` is the change of coordinates between the design and D̃.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg

from ..errors import AccuracyWarning
from . import accurate
from .refine import FLOAT_DIGITS, MAX_REFINE, LeastSquares, digits_of, params_of, refine, relative_step


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
        coef, b, digits = refine(measure, lambda g: sd.raw(scipy.linalg.cho_solve((R, False), sd.scaled_grad(g))),
                                  coef, b, fit_intercept)
        method = "qr+refinement"
    else:
        Ur, Vr, sr = U[:, :rank], Vt[:rank].T, sv[:rank]
        yw = y if weights is None else y * sd.root_w
        coef, b = sd.raw(Vr @ ((Ur.T @ (Q.T @ yw)) / sr))
        coef, b, digits = refine(measure, lambda g: sd.raw(Vr @ ((Vr.T @ sd.scaled_grad(g)) / sr**2)), coef, b,
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
        rel = relative_step(params_of(coef, b, sd.fit_intercept), params_of(dc, db, sd.fit_intercept))
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


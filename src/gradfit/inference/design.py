"""The design's cross-products in working coordinates, from the Gram statistics.

Working coordinates keep the algebra accurate: with an intercept the design
D = [1, X] is handled as Dc·U, where Dc = [1, X − x̄] has the block-diagonal Gram
matrix diag(n, xtx), so (DᵀD)⁻¹ = U⁻¹·diag(1/n, xtx⁺)·U⁻ᵀ never forms the
uncentered moments. Without an intercept the uncentered XᵀX = xtx + n·x̄x̄ᵀ is the
design's own Gram matrix. Every pseudo-inverse is taken on the column-scaled matrix,
and so is the numerical rank that decides which coefficients are identified; the
condition number is read from a small factor with the same Gram matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..optimum.gram import GramStats

#: directions of the column-scaled Gram matrix with relative variance below this count as
#: collinear: their eigenvalues carry rounding of order 1e-16 × the largest, so little is left
RANK_RTOL = 1e-12


@dataclass
class Design:
    """the design's cross-products in working coordinates (see the module docstring)"""

    intercept: bool
    shift: np.ndarray  # x̄ with an intercept (working rows [1, x − x̄]), zeros without (rows x)
    ainv: np.ndarray  # pseudo-inverse of DcᵀDc
    uinv: np.ndarray  # U⁻¹: a covariance in user coordinates is U⁻¹ · cov_c · U⁻ᵀ
    rank: int
    const_idx: int | None  # the constant column among the parameters, if any
    unidentified: np.ndarray  # per parameter: True where no unbiased estimate exists (collinear, n < k)

    def to_user(self, cov_c: np.ndarray) -> np.ndarray:
        return self.uinv @ cov_c @ self.uinv.T

    def rows(self, X: np.ndarray) -> np.ndarray:
        """working design rows of a block of data"""
        xc = X - self.shift
        return np.hstack([np.ones((len(X), 1)), xc]) if self.intercept else xc


def _scaled_eigh(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """eigen-decomposition of M scaled to unit diagonal: (eigenvalues, eigenvectors, scales)"""
    s = np.sqrt(np.maximum(np.diag(M), 0.0))
    s[s == 0.0] = 1.0
    lam, V = np.linalg.eigh(M / np.outer(s, s))
    return lam, V, s


def pinv_rank(M: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """pseudo-inverse, numerical rank and null-space basis (columns) of a symmetric positive semi-definite matrix"""
    if M.shape[0] == 0:
        return M.copy(), 0, np.zeros((0, 0))
    lam, V, s = _scaled_eigh(M)
    keep = lam > RANK_RTOL * lam.max()
    Vk = V[:, keep]
    return (Vk / lam[keep]) @ Vk.T / np.outer(s, s), int(keep.sum()), V[:, ~keep] / s[:, None]


def _factor_inverse(R) -> np.ndarray:
    """(RᵀR)⁻¹ from an upper-triangular R (a QR of the data), without forming RᵀR"""
    R = np.asarray(R, dtype=np.float64)
    Rinv = scipy.linalg.solve_triangular(R, np.eye(len(R)))
    return Rinv @ Rinv.T


def _unidentified(null: np.ndarray) -> np.ndarray:
    """parameters that move along some direction the design cannot see (null-space basis in user coordinates)"""
    if null.shape[1] == 0:
        return np.zeros(null.shape[0], dtype=bool)
    null = null / np.abs(null).max(axis=0)
    return np.abs(null).max(axis=1) > 1e-8


def gram_factor(M: np.ndarray) -> np.ndarray:
    """F with FᵀF = M (negative rounding in the eigenvalues clipped)"""
    lam, V, s = _scaled_eigh(M)
    return np.sqrt(np.maximum(lam, 0.0))[:, None] * V.T * s


def _constant_column(stats: GramStats) -> int | None:
    """a column that holds one nonzero value in every row (up to the rounding of its mean)"""
    floor = stats.n * (64.0 * np.finfo(float).eps * stats.x_mean) ** 2
    const = (np.diag(stats.xtx) <= floor) & (stats.x_mean != 0.0)
    return int(np.argmax(const)) if const.any() else None


def design_of(stats: GramStats, fit_intercept: bool, factor=None) -> Design:
    """the working-coordinate design of a model with or without an intercept

    ``factor``: R from a QR of the data with RᵀR = xtx (with an intercept) or XᵀX (without),
    as the exact solve keeps it (``ExactSolution.factor``); its inverse has about twice the
    correct digits of the Gram matrix's when the design is ill conditioned. Full rank.
    """
    d, xbar = len(stats.x_mean), np.asarray(stats.x_mean, dtype=np.float64)
    if factor is not None:
        gp, rank, null = _factor_inverse(factor), d, np.zeros((d, 0))
    else:
        gram = stats.xtx if fit_intercept else stats.xtx + stats.n * np.outer(xbar, xbar)
        gp, rank, null = pinv_rank(gram)
    if not fit_intercept:
        return Design(False, np.zeros(d), gp, np.eye(d), rank, _constant_column(stats), _unidentified(null))
    ainv = np.zeros((d + 1, d + 1))
    ainv[0, 0], ainv[1:, 1:] = 1.0 / stats.weight_total, gp
    uinv = np.eye(d + 1)
    uinv[0, 1:] = -xbar
    null_user = uinv @ np.vstack([np.zeros((1, null.shape[1])), null])  # D = Dc·U: null(D) = U⁻¹·null(Dc)
    return Design(True, xbar, ainv, uinv, rank + 1, 0, _unidentified(null_user))


def condition_number(stats: GramStats, fit_intercept: bool) -> float:
    """σmax/σmin of the design ([1, X] or X), from a small factor with the same Gram matrix"""
    d, root_n = len(stats.x_mean), math.sqrt(stats.n)
    top = root_n * np.asarray(stats.x_mean, dtype=np.float64)[None, :]
    Z = np.vstack([top, gram_factor(stats.xtx)])
    if fit_intercept:
        Z = np.hstack([np.r_[root_n, np.zeros(d)][:, None], Z])
    s = np.linalg.svd(Z, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf

"""White's heteroskedasticity-robust covariances of the coefficients (HC0–HC3).

Unlike every other figure of the summary, these read the rows again: the sandwich
A⁻¹·(Σ ωᵢ·dᵢdᵢᵀ)·A⁻¹ weighs each working design row dᵢ by its squared residual (HC0),
rescaled by n / df_resid (HC1), or divided by 1 − hᵢ (HC2) or (1 − hᵢ)² (HC3) with hᵢ the
row's leverage. One pass in blocks of ``BLOCK`` rows (a block of a sparse X is made dense,
never the whole matrix); a weighted fit uses the whitened rows √w·x and residuals √w·r, as
statsmodels' WLS does.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .design import Design

#: covariance estimators: the classical one and White's heteroskedasticity-robust family
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
#: rows per block in the one pass that robust covariances make
BLOCK = 16384


def robust_cov(design: Design, X, y, coef: np.ndarray, intercept: float, cov_type: str,
               df_resid: int, w: np.ndarray | None = None) -> np.ndarray:
    """White's sandwich covariance HC0–HC3 in one pass over the rows (of the whitened rows √w·x and
    residuals √w·r with row weights ``w``, as statsmodels' WLS)"""
    sparse = scipy.sparse.issparse(X)
    X, y = X if sparse else np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
    k = design.ainv.shape[0]
    meat = np.zeros((k, k))
    for start in range(0, len(y), BLOCK):
        xb, yb = X[start : start + BLOCK], y[start : start + BLOCK]
        xb = xb.toarray() if sparse else xb  # a block of rows at a time, never the whole sparse X
        wb = np.ones(len(yb)) if w is None else w[start : start + BLOCK]
        rows = design.rows(xb)
        weight = wb * wb * (yb - xb @ coef - intercept) ** 2
        if cov_type in ("HC2", "HC3"):
            leverage = wb * np.einsum("ij,jk,ik->i", rows, design.ainv, rows)
            weight /= (1.0 - leverage) ** (2 if cov_type == "HC3" else 1)
        meat += rows.T @ (weight[:, None] * rows)
    if cov_type == "HC1":
        meat *= len(y) / df_resid
    return design.to_user(design.ainv @ meat @ design.ainv)

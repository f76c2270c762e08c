"""Residual sums of squares from the Gram statistics, as sums of non-negative terms.

The RSS at any point is the RSS at the least-squares optimum plus a quadratic form in the
distance from it (and n times the squared mean residual), so it never cancels, however far
the point is from the optimum. The optimum's own RSS comes from the statistics
(yty − xtyᵀw*, which loses about 1e-16·yty to cancellation), or, better, from residuals an
engine measured, or from the exact answer the solver measured against the data.
"""

from __future__ import annotations

import numpy as np

from ..optimum.exact import ExactSolution
from ..optimum.gram import GramStats, rss_around
from .design import gram_factor, pinv_rank


def least_squares_rss(stats: GramStats) -> tuple[np.ndarray, float]:
    """(w*, RSS*) of the centered least-squares fit, from the Gram statistics alone

    RSS* = yty − xtyᵀw* loses about 1e-16 · yty to cancellation: near a perfect fit
    (1 − R² below about 1e-8) pass the RSS* an engine measured from residuals instead.
    """
    gp, _, _ = pinv_rank(stats.xtx)
    q = np.asarray(stats.xty, dtype=np.float64)
    w = gp @ q
    w += gp @ (q - stats.xtx @ w)  # one step of iterative refinement
    explained = np.dot(q.astype(np.longdouble), w.astype(np.longdouble))
    return w, max(float(np.longdouble(stats.yty) - explained), 0.0)


def residual_ss(stats: GramStats, coef: np.ndarray, intercept: float, rss: float | None = None) -> float:
    """Σ (y − x·coef − intercept)² as a sum of non-negative terms (see ``stats.summarize``)"""
    w_star, rss_star = least_squares_rss(stats)
    mean_resid = stats.y_mean - intercept - float(np.dot(stats.x_mean, coef))
    return float(rss_around(coef - w_star, mean_resid, rss_star if rss is None else float(rss), stats.n,
                            factor=gram_factor(stats.xtx)))


def residual_ss_from_exact(stats: GramStats, exact: ExactSolution, coef: np.ndarray, intercept: float,
                           fit_intercept: bool) -> float:
    """RSS(β) = RSS(β*) + (β − β*)ᵀDᵀD(β − β*) around the unpenalized exact answer β*, whose RSS the
    solver measured from the data: no cancellation, whatever the conditioning"""
    dc = coef - np.asarray(exact.coef, dtype=np.float64)
    db = intercept - exact.intercept
    if exact.factor is not None:
        factor = exact.factor
        shift = float(db + np.dot(stats.x_mean, dc)) if fit_intercept else 0.0  # R of X − x̄, or of X
    else:
        factor = gram_factor(stats.xtx)
        shift = float(db + np.dot(stats.x_mean, dc))
    return float(rss_around(dc, shift, float(exact.rss), stats.n, factor=factor))

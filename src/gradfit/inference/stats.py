"""Inference statistics for a fitted linear model, from its Gram statistics.

The ordinary-least-squares summary that statsmodels users know (coefficient table
with standard errors, t statistics, p-values and 95% intervals; R², F test,
log-likelihood, AIC, BIC, condition number) computed at the fitted parameters from
the centered Gram statistics alone, so large or distributed data need no second
pass. Only the heteroskedasticity-robust covariances (HC0–HC3) read the rows again:
they need each row's residual and leverage.

Working coordinates keep the algebra accurate: with an intercept the design
D = [1, X] is handled as Dc·U, where Dc = [1, X − x̄] has the block-diagonal Gram
matrix diag(n, xtx), so (DᵀD)⁻¹ = U⁻¹·diag(1/n, xtx⁺)·U⁻ᵀ never forms the
uncentered moments. Without an intercept the uncentered XᵀX = xtx + n·x̄x̄ᵀ is the
design's own Gram matrix. Every pseudo-inverse is taken on the column-scaled matrix.

A weighted fit's statistics are weighted (``GramStats.weights``, rows weighed by w̃ = w/w̄):
the summary is then that of weighted least squares as statsmodels' WLS reports it, with the
sums of squares in the units of the weights as given (× w̄) and the log-likelihood's
½·Σ log wᵢ term; the covariance, t, p, R² and F do not depend on the weights' scale.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse
import scipy.linalg
from scipy import stats as sps

from ..descent.losses import loss_from
from ..descent.weights import check_weights, normalized
from ..descent.weights import info as weight_info
from ..errors import ConvergenceWarning, DataError, OptionError
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats, block_stats, rss_around
from .summary_table import Coefficient, Summary

__all__ = ["COV_TYPES", "Coefficient", "Summary", "summarize", "model_summary"]

#: covariance estimators: the classical one and White's heteroskedasticity-robust family
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
#: a fit farther than this (relative parameter distance) from its optimum gets a warning
GAP_TOL = 1e-6
#: directions of the column-scaled Gram matrix with relative variance below this count as
#: collinear: their eigenvalues carry rounding of order 1e-16 × the largest, so little is left
RANK_RTOL = 1e-12
#: rows per block in the one pass that robust covariances make
BLOCK = 16384
#: where a summary can be taken: at the fitted parameters, or at the exact least-squares answer
AT = ("exact", "fit")


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


def _pinv_rank(M: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
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


def _factor(M: np.ndarray) -> np.ndarray:
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
        gp, rank, null = _pinv_rank(gram)
    if not fit_intercept:
        return Design(False, np.zeros(d), gp, np.eye(d), rank, _constant_column(stats), _unidentified(null))
    ainv = np.zeros((d + 1, d + 1))
    ainv[0, 0], ainv[1:, 1:] = 1.0 / stats.weight_total, gp
    uinv = np.eye(d + 1)
    uinv[0, 1:] = -xbar
    null_user = uinv @ np.vstack([np.zeros((1, null.shape[1])), null])  # D = Dc·U: null(D) = U⁻¹·null(Dc)
    return Design(True, xbar, ainv, uinv, rank + 1, 0, _unidentified(null_user))


def least_squares_rss(stats: GramStats) -> tuple[np.ndarray, float]:
    """(w*, RSS*) of the centered least-squares fit, from the Gram statistics alone

    RSS* = yty − xtyᵀw* loses about 1e-16 · yty to cancellation: near a perfect fit
    (1 − R² below about 1e-8) pass the RSS* an engine measured from residuals instead.
    """
    gp, _, _ = _pinv_rank(stats.xtx)
    q = np.asarray(stats.xty, dtype=np.float64)
    w = gp @ q
    w += gp @ (q - stats.xtx @ w)  # one step of iterative refinement
    explained = np.dot(q.astype(np.longdouble), w.astype(np.longdouble))
    return w, max(float(np.longdouble(stats.yty) - explained), 0.0)


def residual_ss(stats: GramStats, coef: np.ndarray, intercept: float, rss: float | None = None) -> float:
    """Σ (y − x·coef − intercept)² as a sum of non-negative terms (see ``summarize``)"""
    w_star, rss_star = least_squares_rss(stats)
    mean_resid = stats.y_mean - intercept - float(np.dot(stats.x_mean, coef))
    return float(rss_around(coef - w_star, mean_resid, rss_star if rss is None else float(rss), stats.n,
                            factor=_factor(stats.xtx)))


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
        factor = _factor(stats.xtx)
        shift = float(db + np.dot(stats.x_mean, dc))
    return float(rss_around(dc, shift, float(exact.rss), stats.n, factor=factor))


def condition_number(stats: GramStats, fit_intercept: bool) -> float:
    """σmax/σmin of the design ([1, X] or X), from a small factor with the same Gram matrix"""
    d, root_n = len(stats.x_mean), math.sqrt(stats.n)
    top = root_n * np.asarray(stats.x_mean, dtype=np.float64)[None, :]
    Z = np.vstack([top, _factor(stats.xtx)])
    if fit_intercept:
        Z = np.hstack([np.r_[root_n, np.zeros(d)][:, None], Z])
    s = np.linalg.svd(Z, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf


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


def _figure(x) -> float | None:
    """a plain float (±inf where a ratio divides by an exact zero, as statsmodels reports it), or None
    where a figure is missing or undefined (0/0)"""
    return None if x is None or math.isnan(x) else float(x)


NOT_IDENTIFIED = (math.nan,) * 5


def coefficient_table(names: Sequence[str], params: np.ndarray, cov: np.ndarray | None, df_resid: int,
                      use_t: bool, unidentified: np.ndarray) -> list[Coefficient]:
    """coef, std err, t (or z), two-sided p-value and 95% interval of each parameter (NaN where not identified)"""
    if cov is None:
        return [Coefficient(name, float(b), None, None, None, None, None) for name, b in zip(names, params)]
    dist = sps.t(df_resid) if use_t else sps.norm()
    with np.errstate(divide="ignore", invalid="ignore"):
        bse = np.sqrt(np.maximum(np.diag(cov), 0.0))
        stat = params / bse
        p, q = 2.0 * dist.sf(np.abs(stat)), dist.ppf(0.975)
    return [Coefficient(name, float(b), *NOT_IDENTIFIED) if lost else
            Coefficient(name, float(b), _figure(se), _figure(t), _figure(pv), _figure(b - q * se), _figure(b + q * se))
            for name, b, se, t, pv, lost in zip(names, params, bse, stat, p, unidentified)]


def fit_figures(n: int, k_const: int, rank: int, ssr: float, tss: float, penalized: bool,
                log_weights: float = 0.0) -> dict:
    """the Summary fields that need no covariance: degrees of freedom, R², likelihood, AIC, BIC
    (``log_weights``: Σ log wᵢ of a weighted fit, the WLS likelihood's extra term)"""
    df_model, df_resid = rank - k_const, n - rank
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - np.float64(ssr) / np.float64(tss)
        r2_adj = 1.0 - np.float64(n - k_const) / df_resid * (1.0 - r2) if df_resid > 0 else None
        llf = -n / 2.0 * (math.log(2.0 * math.pi) + np.log(np.float64(ssr) / n) + 1.0) + 0.5 * log_weights
        resid_std_err = np.sqrt(np.float64(ssr) / df_resid) if df_resid > 0 else None
    criteria = (None, None) if penalized else (-2.0 * llf + 2.0 * rank, -2.0 * llf + math.log(n) * rank)
    return dict(nobs=int(n), df_model=int(df_model), df_resid=int(df_resid), rsquared=_figure(r2),
                rsquared_adj=_figure(r2_adj), ssr=_figure(ssr), resid_std_err=_figure(resid_std_err),
                llf=_figure(llf), aic=_figure(criteria[0]), bic=_figure(criteria[1]))


def f_statistic(params: np.ndarray, cov: np.ndarray, design: Design, cov_type: str, ess_scaled: float,
                df_model: int, df_resid: int) -> tuple[float | None, float | None]:
    """F statistic that all coefficients but the constant are zero, and its p-value

    Classical: (ESS / df_model) / scale; with a robust covariance, the Wald form with
    that covariance (as statsmodels does).
    """
    if df_model <= 0:
        return None, None
    if cov_type == "nonrobust":
        fvalue, df_num = ess_scaled / df_model, df_model
    else:
        keep = [i for i in range(len(params)) if i != design.const_idx]
        V, b = cov[np.ix_(keep, keep)], params[keep]
        df_num = min(len(keep), int(np.linalg.matrix_rank(V)))
        fvalue = float(b @ np.linalg.pinv(V) @ b) / df_num
    return fvalue, float(sps.f.sf(fvalue, df_num, df_resid))


def _check_options(stats: GramStats, coef: np.ndarray, feature_names, cov_type: str, X, y, penalized: bool,
                   sample_weight=None) -> None:
    """OptionError / DataError, one line, for inputs summarize cannot use"""
    d = len(stats.x_mean)
    if cov_type not in COV_TYPES:
        raise OptionError(f"option cov_type={cov_type!r} is not one of {list(COV_TYPES)}")
    if len(coef) != d:
        raise OptionError(f"coef has {len(coef)} values but the Gram statistics have {d} features")
    if feature_names is not None and len(feature_names) != d:
        raise OptionError(f"option feature_names has {len(feature_names)} names but the model has {d} features")
    if cov_type == "nonrobust" or penalized:
        return
    if X is None or y is None:
        raise OptionError(f"option cov_type={cov_type!r} needs the training data (X and y; --data and --target "
                          "on the command line) to measure each row's residual and leverage")
    shape = np.shape(X)
    if len(shape) != 2 or shape[1] != d or shape[0] != stats.n or np.size(y) != stats.n:
        raise DataError(f"X of shape {shape} and y of {np.size(y)} values do not match the model's Gram statistics "
                        f"({stats.n} rows, {d} features); pass the data the model was fitted on")
    if (stats.weights is not None) != (sample_weight is not None):
        raise OptionError(f"option cov_type={cov_type!r} of a weighted fit needs its sample_weight (--weights on the "
                          "command line): pass the weights the model was fitted with" if stats.weights is not None
                          else "option sample_weight (--weights) is for the robust covariances of a weighted fit; "
                          "this fit was not weighted")


def _notes(cov_type: str, penalized: bool, centered: bool, cond: float, design: Design, names: list[str],
           ssr: float) -> list[str]:
    """what a reader must know to read the figures right"""
    if penalized:
        notes = ["Penalized fit: standard errors, t statistics, p-values, confidence intervals, the F test, "
                 "AIC and BIC assume unpenalized least squares and are not applicable; R-squared, RSS, the residual "
                 "standard error and the log-likelihood are measured at the fitted parameters."]
    elif cov_type == "nonrobust":
        notes = ["Standard errors assume that the covariance matrix of the errors is correctly specified."]
    else:
        notes = [f"Standard errors are heteroskedasticity robust ({cov_type}); p-values and intervals use the "
                 "normal distribution (z), as statsmodels does."]
    if not centered:
        notes.append("R-squared is computed without centering (uncentered) since the model does not contain "
                     "a constant.")
    if ssr == 0.0 and not penalized:
        notes.append("The residual sum of squares is exactly 0 (a perfect fit): standard errors are 0, t "
                     "statistics infinite, and ratios of zeros (0/0) are n/a.")
    if design.rank < len(names):
        lost = [name for name, flag in zip(names, design.unidentified) if flag]
        notes.append(f"The design has rank {design.rank} but {len(names)} parameters: the coefficients of "
                     f"{', '.join(lost)} are not identified (collinear columns, or fewer rows than parameters); "
                     "their standard errors, tests and intervals are n/a.")
    elif cond > 1000.0:
        notes.append(f"The condition number is large, {cond:.3g}. This might indicate strong multicollinearity "
                     "or other numerical problems.")
    return notes


def _gap_note(gap: Gap | None, at: str, exact: ExactSolution | None) -> str | None:
    """what a reader must know when the fit is not at its optimum (a warning when the figures are at the fit)"""
    if gap is None or gap.param_distance <= GAP_TOL:
        return None
    where = (f"The fit is {gap.param_distance:.3g} (relative parameter distance) from the exact optimum of its "
             f"objective, objective gap {gap.objective_gap:.3g}")
    if at == "exact":
        return (f"{where}: these statistics are at the exact least-squares answer ({exact.method}), not the fitted "
                "parameters; summary(at='fit') reports them at the fit.")
    return f"{where}; the statistics assume the optimum."


def default_at(gap: Gap | None, exact: ExactSolution | None) -> str:
    """where a summary is taken by default: at the exact answer when the fit is not at its optimum"""
    return "exact" if exact is not None and gap is not None and gap.distance > GAP_TOL else "fit"


def summarize(stats: GramStats, coef, intercept: float = 0.0, *, fit_intercept: bool,
              feature_names: Sequence[str] | None = None, penalized: bool = False, gap: Gap | None = None,
              X=None, y=None, cov_type: str = "nonrobust", rss: float | None = None,
              exact: ExactSolution | None = None, at: str = "fit", sample_weight=None) -> "Summary":
    """Inference statistics of a linear model at its fitted parameters (or its exact answer), statsmodels OLS style.

    Everything except the robust covariances comes from the Gram statistics, with no
    pass over the data. The residual sum of squares at the fitted parameters is
    RSS(β) = (w − w*)ᵀ·xtx·(w − w*) + RSS* + n·(mean residual)², a sum of non-negative
    terms, where w* are the centered least-squares coefficients and RSS* their residual
    sum of squares.

    Parameters
    ----------
    stats : GramStats
        Centered Gram statistics of the training data (``gradfit.optimum.gram.block_stats``).
    coef : array-like of shape (n_features,)
        Fitted coefficients in the units of the data.
    intercept : float
        Fitted intercept (ignored when ``fit_intercept=False``).
    fit_intercept : bool
        True: the design is [1, X] and the table starts with "const"; False: the design is
        X, and R² is uncentered unless a column of X is constant (as statsmodels does).
    feature_names : sequence of str, optional
        Row labels; default ``x0, x1, ...``.
    penalized : bool
        True for a ridge / lasso / elastic-net fit: the inferential figures (standard
        errors, t, p, intervals, F, AIC, BIC) are None and a note says why.
    gap : Gap, optional
        The fit's distance from its exact optimum; above ``GAP_TOL`` the summary says so
        and a ``ConvergenceWarning`` is issued.
    X, y : array-like of shapes (n, n_features) and (n,), optional
        The training data; needed only for robust covariances (one pass over the rows).
    sample_weight : array-like of shape (n,), optional
        The weights of a weighted fit (whose ``stats`` are weighted); needed only for robust covariances.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Covariance of the coefficients; the HC types use the normal distribution for
        p-values and intervals, as statsmodels does by default.
    rss : float, optional
        RSS* of the centered least-squares fit (with an intercept, whatever the model),
        measured from residuals as gradfit's engines do. Without it RSS* is computed from
        the Gram statistics as yty − xtyᵀw*, which loses about 1e-16 · yty to
        cancellation: accurate unless the fit is nearly perfect (1 − R² below about 1e-8).
    exact : ExactSolution, optional
        The model's exact answer. Unpenalized, it carries its residual sum of squares and
        (when the solver ran a QR of the data) a triangular factor of the design: the RSS at
        any point is then RSS* + (β − β*)ᵀDᵀD(β − β*), and the covariance comes from that
        factor, accurate however ill conditioned the design is.
    at : {"fit", "exact"}
        Where the statistics are taken: at ``coef`` and ``intercept``, or at the exact answer
        (``exact`` required); the header and a note say which.

    Returns
    -------
    Summary

    Raises
    ------
    OptionError
        Unknown ``cov_type`` or ``at``; a robust ``cov_type`` without ``X`` and ``y``; ``coef`` or
        ``feature_names`` of the wrong length; ``at="exact"`` without ``exact``.
    DataError
        ``X`` / ``y`` whose shape does not match the Gram statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from gradfit.optimum.gram import block_stats
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([1.0, 3.2, 4.9, 7.1])
    >>> coef, b = np.polyfit(X[:, 0], y, 1)
    >>> s = summarize(block_stats(X, y), [coef], b, fit_intercept=True)
    >>> round(s.rsquared, 4), s.df_resid
    (0.9975, 2)
    """
    _check_at(at, exact)
    if at == "exact":
        coef, intercept = exact.coef, exact.intercept
    coef = np.asarray(coef, dtype=np.float64).ravel()
    _check_options(stats, coef, feature_names, cov_type, X, y, penalized, sample_weight)
    b = float(intercept) if fit_intercept else 0.0
    least_squares = exact if exact is not None and exact.rss is not None and not penalized else None
    factor = None if least_squares is None else least_squares.factor
    design = design_of(stats, fit_intercept, factor)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(len(coef))]
    names, params = (["const", *names], np.r_[b, coef]) if fit_intercept else (names, coef)
    centered = design.const_idx is not None
    ssr = (residual_ss(stats, coef, b, rss) if least_squares is None
           else residual_ss_from_exact(stats, least_squares, coef, b, fit_intercept))
    tss = stats.yty if centered else stats.yty + stats.n * stats.y_mean**2
    unit, log_weights = (1.0, 0.0) if stats.weights is None else (stats.weights.mean, stats.weights.log_sum)
    fig = fit_figures(stats.n, int(centered), design.rank, ssr * unit, tss * unit, penalized, log_weights)
    cov, fvalue, f_pvalue = None, None, None
    if not penalized and fig["df_resid"] > 0:
        scale = np.float64(ssr) / fig["df_resid"]
        rw = None if sample_weight is None else normalized(check_weights(sample_weight, stats.n))
        cov = (scale * design.to_user(design.ainv) if cov_type == "nonrobust"
               else robust_cov(design, X, y, coef, b, cov_type, fig["df_resid"], rw))
        with np.errstate(divide="ignore", invalid="ignore"):
            fvalue, f_pvalue = f_statistic(params, cov, design, cov_type, (tss - ssr) / scale, fig["df_model"],
                                           fig["df_resid"])
    cond = condition_number(stats, fit_intercept)
    notes = _notes(cov_type, penalized, centered, cond, design, names, ssr)
    if stats.weights is not None:
        notes.insert(0, "Weighted least squares (sample_weight): the figures are those of statsmodels' WLS with "
                        "these weights; the RSS is Σ wᵢ·rᵢ².")
    gap_note = _gap_note(gap, at, exact)
    if gap_note is not None:
        notes.append(gap_note)
        if at == "fit":
            warnings.warn(gap_note, ConvergenceWarning, stacklevel=2)
    return Summary(
        coefficients=coefficient_table(names, params, cov, fig["df_resid"], cov_type == "nonrobust",
                                       design.unidentified),
        **fig, fvalue=_figure(fvalue), f_pvalue=_figure(f_pvalue), condition_number=_figure(cond),
        cov_type=cov_type, fit_intercept=fit_intercept, centered=centered, penalized=penalized,
        gap=None if gap is None else {"param_distance": _figure(gap.param_distance),
                                      "objective_gap": _figure(gap.objective_gap)},
        notes=notes, at=at,
    )


def _check_at(at: str, exact: ExactSolution | None) -> None:
    if at not in AT:
        raise OptionError(f"option at={at!r} is not one of {list(AT)}")
    if at == "exact" and exact is None:
        raise OptionError("option at='exact' needs the model's exact answer (exact_), which this model does not "
                          "hold; use at='fit'")


def model_summary(model, X=None, y=None, *, cov_type: str = "nonrobust", at: str | None = None,
                  sample_weight=None) -> "Summary":
    """the Summary of a fitted GDRegressor (``X`` and ``y``, and ``sample_weight`` of a weighted fit: its
    training data, for robust covariances)

    Uses the Gram statistics the model keeps (also in its model file); a model without
    them (too many features to keep) needs ``X`` and ``y`` to gather them in one pass.
    ``at``: "fit" or "exact" (see ``summarize``); default: "exact" when the fit is farther than
    ``GAP_TOL`` from its optimum, else "fit".
    """
    loss = loss_from(model.get_params())
    if not loss.is_quadratic:
        return coefficients_only(model, loss)
    stats = getattr(model, "gram_stats_", None)
    if stats is None:
        if X is None or y is None:
            raise OptionError("the model holds no Gram statistics (too many features to keep them); pass its "
                              "training data (X and y; --data and --target on the command line)")
        if scipy.sparse.issparse(X):
            raise OptionError(f"the model holds no Gram statistics ({X.shape[1]} features are too many to keep "
                              "them), and sparse X is not gathered into them here")
        given = check_weights(sample_weight, len(np.asarray(y).ravel()))
        stats = block_stats(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel(),
                            weights=normalized(given))
        if given is not None:
            stats.weights = weight_info(given)._replace(total=stats.weight_total)
    names = getattr(model, "feature_names_in_", None)
    gap, exact = getattr(model, "gap_", None), getattr(model, "exact_", None)
    return summarize(stats, model.coef_, model.intercept_, fit_intercept=model.fit_intercept,
                     feature_names=None if names is None else [str(n) for n in names], penalized=model.alpha > 0,
                     gap=gap, X=X, y=y, cov_type=cov_type, rss=stats.rss_min, exact=exact,
                     at=default_at(gap, exact) if at is None else at, sample_weight=sample_weight)


def coefficients_only(model, loss) -> Summary:
    """the summary of a fit whose loss is not squared error: its coefficients, and a note saying why no more"""
    names = getattr(model, "feature_names_in_", None)
    names = [str(n) for n in names] if names is not None else [f"x{j}" for j in range(len(model.coef_))]
    rows = [Coefficient(name, float(c), None, None, None, None, None) for name, c in zip(names, model.coef_)]
    if model.fit_intercept:
        rows.insert(0, Coefficient("const", float(model.intercept_), None, None, None, None, None))
    n = model.gram_stats_.n if getattr(model, "gram_stats_", None) is not None else 0
    gap = model.gap_.to_dict() if getattr(model, "gap_", None) is not None else None
    note = (f"Inference statistics (standard errors, t and p-values, R², F, likelihood) are those of least "
            f"squares and hold for the squared losses only; this fit minimizes loss={loss.name!r}, so none "
            f"are given.")
    return Summary(rows, n, len(model.coef_), max(n - len(rows), 0), None, None, None, None, None, None, None,
                   None, None, None, "nonrobust", bool(model.fit_intercept), bool(model.fit_intercept),
                   model.alpha > 0, gap, [note], at="coefficients")

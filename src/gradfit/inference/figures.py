"""The summary's figures from a covariance and sums of squares: coefficient tests and intervals,
the F test, and the fit's own figures (degrees of freedom, R², log-likelihood, AIC, BIC).

Each is the formula statsmodels' OLS reports, with its conventions: a t distribution with
the classical covariance, the normal one (z) with a robust covariance; ±inf where a ratio
divides by an exact zero, and None (n/a) where a figure is undefined (0/0) or missing. An
unidentified coefficient gets NaN for every figure but its value.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as sps

from .design import Design
from .summary_table import Coefficient


def as_figure(x) -> float | None:
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
            Coefficient(name, float(b), as_figure(se), as_figure(t), as_figure(pv), as_figure(b - q * se), as_figure(b + q * se))
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
    return dict(nobs=int(n), df_model=int(df_model), df_resid=int(df_resid), rsquared=as_figure(r2),
                rsquared_adj=as_figure(r2_adj), ssr=as_figure(ssr), resid_std_err=as_figure(resid_std_err),
                llf=as_figure(llf), aic=as_figure(criteria[0]), bic=as_figure(criteria[1]))


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

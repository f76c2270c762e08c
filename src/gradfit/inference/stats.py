"""Inference statistics for a fitted linear model, from its Gram statistics: the summary put together.

The ordinary-least-squares summary that statsmodels users know (coefficient table
with standard errors, t statistics, p-values and 95% intervals; R², F test,
log-likelihood, AIC, BIC, condition number) computed at the fitted parameters (or at
the exact answer) from the centered Gram statistics alone, so large or distributed data
need no second pass. This module checks the options, assembles the parts (the design in
working coordinates, ``design``; the residual sum of squares, ``rss``; the covariance,
classical or robust, ``robust_cov``; the figures, ``figures``) and writes the notes a
reader needs. Only the heteroskedasticity-robust covariances (HC0–HC3) read the rows again.

A weighted fit's statistics are weighted (``GramStats.weights``, rows weighed by w̃ = w/w̄):
the summary is then that of weighted least squares as statsmodels' WLS reports it, with the
sums of squares in the units of the weights as given (× w̄) and the log-likelihood's
½·Σ log wᵢ term; the covariance, t, p, R² and F do not depend on the weights' scale.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import scipy.sparse

from ..descent.losses import loss_from
from ..descent.weights import check_weights
from ..descent.weights import info as weight_info
from ..descent.weights import normalized
from ..errors import ConvergenceWarning, DataError, OptionError
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats, block_stats
from .design import Design, condition_number, design_of
from .figures import as_figure, coefficient_table, f_statistic, fit_figures
from .robust_cov import COV_TYPES, robust_cov
from .rss import residual_ss, residual_ss_from_exact
from .summary_table import CONST, Coefficient, Summary, intercept_label

__all__ = ["COV_TYPES", "Coefficient", "Summary", "summarize", "model_summary"]

#: a fit farther than this (relative parameter distance) from its optimum gets a warning
GAP_TOL = 1e-6
#: where a summary can be taken: at the fitted parameters, or at the exact least-squares answer
AT = ("exact", "fit")


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
              exact: ExactSolution | None = None, at: str = "fit", sample_weight=None,
              intercept_name: str = CONST) -> "Summary":
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
        True: the design is [1, X] and the table starts with the intercept; False: the design is
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
    intercept_name : str
        The intercept's label: "const" (statsmodels' OLS on ``add_constant``), or "Intercept" for a fit
        made from a formula (``summary_table.intercept_label``).

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
    names, params = ([intercept_name, *names], np.r_[b, coef]) if fit_intercept else (names, coef)
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
        **fig, fvalue=as_figure(fvalue), f_pvalue=as_figure(f_pvalue), condition_number=as_figure(cond),
        cov_type=cov_type, fit_intercept=fit_intercept, centered=centered, penalized=penalized,
        gap=None if gap is None else {"param_distance": as_figure(gap.param_distance),
                                      "objective_gap": as_figure(gap.objective_gap)},
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
                     at=default_at(gap, exact) if at is None else at, sample_weight=sample_weight,
                     intercept_name=intercept_label(model))


def coefficients_only(model, loss) -> Summary:
    """the summary of a fit whose loss is not squared error: its coefficients, and a note saying why no more"""
    names = getattr(model, "feature_names_in_", None)
    names = [str(n) for n in names] if names is not None else [f"x{j}" for j in range(len(model.coef_))]
    rows = [Coefficient(name, float(c), None, None, None, None, None) for name, c in zip(names, model.coef_)]
    if model.fit_intercept:
        rows.insert(0, Coefficient(intercept_label(model), float(model.intercept_), None, None, None, None, None))
    n = model.gram_stats_.n if getattr(model, "gram_stats_", None) is not None else 0
    gap = model.gap_.to_dict() if getattr(model, "gap_", None) is not None else None
    note = (f"Inference statistics (standard errors, t and p-values, R², F, likelihood) are those of least "
            f"squares and hold for the squared losses only; this fit minimizes loss={loss.name!r}, so none "
            f"are given.")
    return Summary(rows, n, len(model.coef_), max(n - len(rows), 0), None, None, None, None, None, None, None,
                   None, None, None, "nonrobust", bool(model.fit_intercept), bool(model.fit_intercept),
                   model.alpha > 0, gap, [note], at="coefficients")

"""Inference statistics against statsmodels OLS (the independent reference), at 1e-8 relative: every
figure of ``summarize``, its notes and errors, and the table it renders."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_diabetes
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from gradfit.errors import ConvergenceWarning, DataError, OptionError
from gradfit.inference.stats import COV_TYPES, Summary, summarize
from gradfit.optimum.exact import Gap
from gradfit.optimum.gram import block_stats

from .helpers import STATS_RTOL, assert_matches_statsmodels, offset_data


def diabetes():
    data = load_diabetes()
    return data.data, data.target


def ones_column_data():
    """no intercept in the model, but a column of ones in X: statsmodels then counts a constant"""
    X, y = offset_data(seed=2)
    return np.hstack([X[:, :2], np.ones((len(y), 1)), X[:, 2:]]), y


DATASETS = {
    "diabetes+intercept": (diabetes, True),
    "random+intercept": (offset_data, True),
    "random, no intercept": (offset_data, False),
    "ones column, no intercept": (ones_column_data, False),
}


def least_squares(X, y, fit_intercept):
    """exact OLS parameters (numpy lstsq) and the statsmodels design"""
    D = sm.add_constant(X, has_constant="add") if fit_intercept else X
    beta = np.linalg.lstsq(D, y, rcond=None)[0]
    coef, intercept = (beta[1:], beta[0]) if fit_intercept else (beta, 0.0)
    return D, coef, intercept


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_figure_matches_statsmodels(dataset, cov_type):
    make, fit_intercept = DATASETS[dataset]
    X, y = make()
    D, coef, intercept = least_squares(X, y, fit_intercept)
    res = sm.OLS(y, D).fit(cov_type=cov_type)
    s = summarize(block_stats(X, y), coef, intercept, fit_intercept=fit_intercept, X=X, y=y, cov_type=cov_type)
    assert_matches_statsmodels(s, res)
    assert s.centered == bool(res.k_constant)
    assert s.statistic == ("t" if cov_type == "nonrobust" else "z")


def test_given_rss_keeps_a_nearly_perfect_fit_accurate():
    # 1 − R² ≈ 1e-14: yty − xty·w* cannot resolve RSS*, the residuals measured in one pass can
    # statsmodels' own parameters: a coefficient of 1e-7 ± 1e-7 differs between lstsq and pinv in its 8th digit
    X, y = offset_data(noise=1e-6)
    D = sm.add_constant(X)
    res = sm.OLS(y, D).fit()
    rss = float(np.sum((y - D @ res.params) ** 2))
    s = summarize(block_stats(X, y), res.params[1:], res.params[0], fit_intercept=True, rss=rss)
    assert_matches_statsmodels(s, res)


def test_residual_ss_away_from_the_optimum_is_exact():
    X, y = offset_data()
    _, coef, intercept = least_squares(X, y, True)
    coef, intercept = coef + [0.3, -0.01, 2.0, 0.5], intercept - 1.0
    with pytest.warns(ConvergenceWarning):
        s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True, gap=Gap(0.1, 5.0, 6.0, 1.0))
    rss = float(np.sum((y - X @ coef - intercept) ** 2))
    np.testing.assert_allclose(s.ssr, rss, rtol=1e-12)
    np.testing.assert_allclose(s.rsquared, 1.0 - rss / np.sum((y - y.mean()) ** 2), rtol=1e-12)


def test_collinear_columns_lower_the_rank_like_statsmodels():
    X, y = offset_data()
    X = np.hstack([X, X[:, :1]])
    D, coef, intercept = least_squares(X, y, True)
    with pytest.warns(SingularMatrixWarning):
        res = sm.OLS(y, D).fit()
    s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True)
    assert (s.df_model, s.df_resid) == (res.df_model, res.df_resid) == (4, 195)
    for name in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "bic"):
        np.testing.assert_allclose(getattr(s, name), getattr(res, name), rtol=STATS_RTOL, err_msg=name)
    assert any("rank 5 but 6 parameters" in note for note in s.notes)


@pytest.fixture
def diabetes_summary():
    X, y = diabetes()
    D, coef, intercept = least_squares(X, y, True)
    names = load_diabetes().feature_names
    s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True, feature_names=names)
    return s, sm.OLS(y, D).fit(), names


def test_penalized_fit_marks_the_inferential_figures_not_applicable():
    X, y = offset_data()
    _, coef, intercept = least_squares(X, y, True)
    coef = coef * 0.9  # a shrunken fit, as a ridge would give
    s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True, penalized=True, cov_type="HC3")
    assert all(c.std_err is c.statistic is c.p_value is c.ci_low is c.ci_high is None for c in s.coefficients)
    assert s.fvalue is s.f_pvalue is s.aic is s.bic is None
    rss = float(np.sum((y - X @ coef - intercept) ** 2))
    np.testing.assert_allclose([s.ssr, s.rsquared], [rss, 1.0 - rss / np.sum((y - y.mean()) ** 2)], rtol=1e-12)
    assert s.llf is not None and s.resid_std_err is not None
    assert "not applicable" in s.notes[0]
    assert "Penalized fit" in s.to_text() and "n/a" in s.to_text() and "n/a" in s._repr_html_()
    d = s.to_dict()
    assert d["aic"] is None and d["coefficients"][1]["p_value"] is None and d["penalized"] is True


def test_gap_beyond_tolerance_warns_and_says_how_far():
    X, y = diabetes()
    _, coef, intercept = least_squares(X, y, True)
    with pytest.warns(ConvergenceWarning, match=r"0\.002 .*from the exact optimum.*assume the optimum"):
        s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True, gap=Gap(2e-3, 0.5, 10.5, 10.0))
    assert s.gap == {"param_distance": 2e-3, "objective_gap": 0.5}
    assert "assume the optimum" in s.notes[-1]
    assert "Dist. to optimum:" in s.to_text() and "0.002" in s.to_text()


def test_gap_within_tolerance_is_reported_without_warning():
    X, y = diabetes()
    _, coef, intercept = least_squares(X, y, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True, gap=Gap(1e-9, 0.0, 1.0, 1.0))
    assert s.gap["param_distance"] == 1e-9
    assert not any("optimum" in note for note in s.notes)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(cov_type="HC9"), OptionError, r"option cov_type='HC9' is not one of \['nonrobust', 'HC0'"),
    (dict(cov_type="HC1"), OptionError, r"option cov_type='HC1' needs the training data \(X and y"),
    (dict(cov_type="HC0", X=np.zeros((5, 10)), y=np.zeros(5)), DataError,
     r"X of shape \(5, 10\) and y of 5 values do not match .*\(442 rows, 10 features\)"),
    (dict(feature_names=["a", "b"]), OptionError, r"option feature_names has 2 names but the model has 10 features"),
])
def test_errors_name_the_option_at_fault(kwargs, error, message):
    X, y = diabetes()
    _, coef, intercept = least_squares(X, y, True)
    with pytest.raises(error, match=message):
        summarize(block_stats(X, y), coef, intercept, fit_intercept=True, **kwargs)


def test_coef_of_the_wrong_length_is_an_option_error():
    X, y = diabetes()
    with pytest.raises(OptionError, match="coef has 3 values but the Gram statistics have 10 features"):
        summarize(block_stats(X, y), [1.0, 2.0, 3.0], 0.0, fit_intercept=True)


def test_text_shows_the_figures(diabetes_summary):
    s, res, names = diabetes_summary
    text = str(s)
    assert text == s.to_text() and max(len(line) for line in text.splitlines()) == 78
    for figure in (res.rsquared, res.rsquared_adj, res.fvalue, res.f_pvalue, res.llf, res.aic, res.bic):
        assert f"{figure:.4g}" in text
    for name, b, se in zip(["const", *names], res.params, res.bse):
        row = next(line for line in text.splitlines() if line.startswith(name + " "))
        assert f"{b:.4f}" in row and f"{se:.4f}" in row
    assert "P>|t|" in text and "correctly specified" in text


def test_html_shows_the_figures(diabetes_summary):
    s, res, names = diabetes_summary
    html = s._repr_html_()
    assert html.startswith('<div class="gradfit-summary">') and html.count("<table>") == 2
    assert f"<td>{res.rsquared:.4g}</td>" in html and f"<td>{res.params[3]:.4f}</td>" in html
    assert all(f"<th>{name}</th>" in html for name in names) and "<th>P&gt;|t|</th>" in html


def test_dict_survives_a_json_round_trip(diabetes_summary):
    s = diabetes_summary[0]
    text = json.dumps(s.to_dict(), allow_nan=False)
    back = Summary.from_dict(json.loads(text))
    assert back == s and back.to_text() == s.to_text()
    assert s.to_dict()["coefficients"][0]["name"] == "const"


def test_uncentered_r_squared_is_labelled():
    X, y = offset_data()
    _, coef, _ = least_squares(X, y, False)
    s = summarize(block_stats(X, y), coef, 0.0, fit_intercept=False)
    assert "R-squared (uncentered):" in s.to_text()
    assert [c.name for c in s.coefficients] == ["x0", "x1", "x2", "x3"]


# ------------------------------------------------- zero residuals, unidentified coefficients, unconverged fits


def tutorial_line():
    """x = 1, 2, 3 and y = 2, 4, 6: the least-squares line y = 2x leaves no residual at all"""
    return np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0])


def test_perfect_fit_reports_infinities_where_statsmodels_does():
    X, y = tutorial_line()
    s = summarize(block_stats(X, y), [2.0], 0.0, fit_intercept=True, rss=0.0)
    assert s.ssr == 0.0 and s.resid_std_err == 0.0 and s.rsquared == 1.0 and s.rsquared_adj == 1.0
    assert s.fvalue == math.inf and s.f_pvalue == 0.0
    assert s.llf == math.inf and s.aic == -math.inf and s.bic == -math.inf
    const, slope = s.coefficients
    assert const.std_err == 0.0 and const.statistic is None and const.p_value is None  # 0 / 0
    assert slope.std_err == 0.0 and slope.statistic == math.inf and slope.p_value == 0.0
    assert (slope.ci_low, slope.ci_high) == (2.0, 2.0)
    # statsmodels computes the same limits from residuals of about 1e-16: enormous or vanishing figures
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.OLS(y, sm.add_constant(X)).fit()
    assert res.tvalues[1] > 1e12 and res.pvalues[1] < 1e-10 and res.fvalue > 1e12 and res.llf > 50
    text = s.to_text()
    assert "inf" in text and "-inf" in text and "n/a" in text


def test_constant_target_reports_an_undefined_r_squared():
    X, y = tutorial_line()
    y = np.full(3, 4.0)
    s = summarize(block_stats(X, y), [0.0], 4.0, fit_intercept=True, rss=0.0)
    assert s.ssr == 0.0 and s.rsquared is None and s.rsquared_adj is None
    assert s.fvalue is None and s.f_pvalue is None and s.llf == math.inf
    const, slope = s.coefficients
    assert const.statistic == math.inf and const.p_value == 0.0 and slope.statistic is None
    doc = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert doc["llf"] == "inf" and doc["aic"] == "-inf" and doc["rsquared"] is None
    assert Summary.from_dict(doc).llf == math.inf


@pytest.mark.parametrize("case", ["constant column", "duplicated column", "more features than rows"])
def test_unidentified_coefficients_have_no_standard_error(case):
    X, y = offset_data(n=200 if case != "more features than rows" else 6)
    if case == "constant column":
        X, unidentified = np.column_stack([X, np.full(len(y), 3.0)]), {"const", "x4"}
    elif case == "duplicated column":
        X, unidentified = np.column_stack([X, X[:, 1]]), {"x1", "x4"}
    else:
        X, unidentified = np.column_stack([X, X ** 2]), {"const", *(f"x{j}" for j in range(8))}
    D, coef, intercept = least_squares(X, y, True)
    s = summarize(block_stats(X, y), coef, intercept, fit_intercept=True)
    missing = {c.name for c in s.coefficients if c.std_err is None or math.isnan(c.std_err)}
    assert missing == unidentified
    for c in s.coefficients:
        if c.name in unidentified:
            assert c.std_err is None or all(math.isnan(v) for v in (c.std_err, c.statistic, c.p_value, c.ci_low))
            row = next(line for line in s.to_text().splitlines() if line.startswith(c.name + " "))
            assert row.split()[2:] == ["n/a"] * 5
    assert any("not identified" in note and all(name in note for name in sorted(unidentified)[:3])
               for note in s.notes)
    if case == "duplicated column":  # the identified coefficients keep statsmodels' standard errors
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularMatrixWarning)
            res = sm.OLS(y, D).fit()
        for j, c in enumerate(s.coefficients):
            if c.name not in unidentified:
                assert c.std_err == pytest.approx(res.bse[j], rel=1e-8)
    assert json.dumps(s.to_dict(), allow_nan=False)

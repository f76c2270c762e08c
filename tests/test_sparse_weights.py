"""Sample weights on sparse X (the numpy engine's CSR path), never densified.

References: the same weighted fit on the data densified (the dense numpy engine, whose weights are tested
against statsmodels' WLS and repeated rows in tests/test_weights.py; same seed: 1e-10 relative to each
history column's scale), repeated rows for integer weights (the full batch and the exact answer: 1e-10),
statsmodels' WLS for the summary (1e-8), ``gradfit.optimum.accurate``'s weighted residual pass, and
scikit-learn's own check_sample_weight_equivalence_on_sparse_data.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import statsmodels.api as sm

import gradfit
from gradfit import GDRegressor
from gradfit.descent.weights import normalized
from gradfit.optimum.accurate import residual_pass
from gradfit.training.config import FitConfig

from .helpers import assert_same_history

TOL = 1e-10


def weighted_sparse(n=120, d=8, density=0.3, seed=0, zeros=True):
    """a random sparse X with column means away from zero, its y, and weights in [0, 3) (some 0 when ``zeros``)"""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr",
                  data_rvs=lambda k: rng.normal(loc=1.5, size=k))
    y = X @ np.linspace(-1.0, 2.0, d) + 0.5 + 0.3 * rng.normal(size=n)
    w = rng.uniform(0.0, 3.0, size=n)
    if zeros:
        w[[0, 5, 17]] = 0.0
    return X, y, w


def fit_quietly(model, X, y, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs are not at the optimum, and need not be
        return model.fit(X, y, sample_weight=w)


def assert_same_fit(a, b, tol=TOL):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=tol, atol=tol)
    assert a.intercept_ == pytest.approx(b.intercept_, rel=tol, abs=tol)
    assert_same_history(a.history_, b.history_, rtol=tol)
    if a.loss in ("mse", "half_mse"):  # a robust loss on sparse X has no exact answer (tests/test_sparse.py)
        np.testing.assert_allclose(a.exact_.coef, b.exact_.coef, rtol=tol, atol=tol)
        assert a.exact_.intercept == pytest.approx(b.exact_.intercept, rel=tol, abs=tol)


PENALTIES = {"none": {}, "l2": {"alpha": 0.1}, "l1": {"alpha": 0.05, "l1_ratio": 1.0}}


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize(("preprocess", "fit_intercept"), [("none", True), ("standardize", True),
                                                           ("none", False), ("standardize", False)])
@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_weighted_sparse_fit_equals_the_weighted_dense_fit(batch_size, preprocess, fit_intercept, penalty):
    """per-sample and minibatch steps (plain SGD: the lazy steps; L1: the general ones) and the full batch"""
    X, y, w = weighted_sparse()
    settings = dict(lr=0.02, epochs=3, tol=None, seed=0, batch_size=batch_size, preprocess=preprocess,
                    fit_intercept=fit_intercept, **PENALTIES[penalty])
    assert_same_fit(fit_quietly(GDRegressor(**settings), X, y, w),
                    fit_quietly(GDRegressor(**settings), X.toarray(), y, w))


@pytest.mark.parametrize("settings", [
    {"optimizer": "adam", "batch_size": 5},
    {"optimizer": "sgd", "momentum": 0.9, "batch_size": 1},
    {"optimizer": "sgd", "average": True, "batch_size": 1, "preprocess": "center"},
    {"loss": "huber", "epsilon": 0.5, "batch_size": 3},
    {"shuffle": False, "batch_size": 9, "preprocess": "center"},
    {"lr": "auto", "batch_size": 1, "preprocess": "standardize"},
    {"lr": "auto", "batch_size": 4, "fit_intercept": False},
    {"engine_options": {"kernels": "off"}, "batch_size": 7, "preprocess": "standardize"},
    {"record_every": "step", "batch_size": 20},
])
def test_weighted_sparse_fit_equals_the_weighted_dense_fit_for_other_settings(settings):
    """momentum, Adam, averaging and Huber take the general steps; lr='auto' reads the weighted largest row norm;
    without the kernels (or recording every step) the generic loop's minibatches take sparse products"""
    X, y, w = weighted_sparse(seed=1)
    settings = {"lr": 0.01, "epochs": 3, "tol": None, "seed": 3, **settings}
    a = fit_quietly(GDRegressor(**settings), X, y, w)
    b = fit_quietly(GDRegressor(**settings), X.toarray(), y, w)
    assert a.lr_ == pytest.approx(b.lr_, rel=1e-12)
    assert_same_fit(a, b)


def test_lazy_steps_fold_a_small_scale_back_into_the_coefficients_with_weights():
    """lr·l2 = 0.4: the lazy scale α falls below 1e-9 many times an epoch; weighted steps still equal the dense"""
    X, y, w = weighted_sparse(n=3000, d=6, seed=2)
    settings = dict(lr=0.4, alpha=1.0, batch_size=1, epochs=2, tol=None, seed=0, preprocess="center")
    assert_same_fit(fit_quietly(GDRegressor(**settings), X * 0.05, y, w),
                    fit_quietly(GDRegressor(**settings), (X * 0.05).toarray(), y, w))


def repeated(X, y, w):
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    return X[rows], y[rows]


@pytest.mark.parametrize("settings", [{}, {"alpha": 0.2, "l1_ratio": 0.0}, {"fit_intercept": False},
                                      {"preprocess": "none"}])
def test_integer_weights_fit_as_repeated_rows(settings):
    """the full batch and the exact answer of integer weights are those of the rows repeated (sparse both)"""
    X, y, _ = weighted_sparse(seed=3)
    w = np.random.default_rng(3).integers(0, 4, size=len(y)).astype(float)
    settings = dict(seed=0, epochs=30, tol=None, **settings)
    a = fit_quietly(GDRegressor(**settings), X, y, w)
    b = fit_quietly(GDRegressor(**settings), *repeated(X, y, w), None)
    assert a.lr_ == pytest.approx(b.lr_, rel=TOL)
    assert_same_history(b.history_, a.history_, rtol=TOL)
    np.testing.assert_allclose(a.exact_.coef, b.exact_.coef, rtol=TOL)
    assert a.exact_.intercept == pytest.approx(b.exact_.intercept, rel=TOL, abs=1e-12)


def test_zero_weights_drop_rows():
    X, y, w = weighted_sparse(seed=4)
    keep = w > 0
    settings = dict(seed=0, epochs=30, tol=None)
    a = fit_quietly(GDRegressor(**settings), X, y, keep.astype(float))
    b = fit_quietly(GDRegressor(**settings), X[keep], y[keep], None)
    assert_same_history(b.history_, a.history_, rtol=TOL)
    np.testing.assert_allclose(a.exact_.coef, b.exact_.coef, rtol=TOL)


def test_equal_weights_change_nothing():
    X, y, _ = weighted_sparse(seed=5)
    settings = dict(seed=0, epochs=5, tol=None, batch_size=1, lr=0.02)
    assert_same_history(fit_quietly(GDRegressor(**settings), X, y, None).history_,
                        fit_quietly(GDRegressor(**settings), X, y, 2.5).history_, rtol=1e-12)


def test_weighted_statistics_equal_the_dense_ones():
    X, y, w = weighted_sparse(n=200, d=6, seed=6)
    a, b = fit_quietly(GDRegressor(), X, y, w), fit_quietly(GDRegressor(), X.toarray(), y, w)
    for name in ("x_mean", "xtx", "xty"):
        want = getattr(b.gram_stats_, name)
        np.testing.assert_allclose(getattr(a.gram_stats_, name), want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    for name in ("y_mean", "yty", "rss_min"):
        assert getattr(a.gram_stats_, name) == pytest.approx(getattr(b.gram_stats_, name), rel=1e-12)
    assert a.gram_stats_.weights == pytest.approx(b.gram_stats_.weights, rel=1e-12)  # (total, mean, Σ log w)


def test_weighted_residual_passes_equal_the_dense_ones():
    X, y, w = weighted_sparse(n=300, d=5, seed=7)
    coef, b = np.linspace(0.3, -0.7, 5), 0.25
    engine = gradfit.engines.get_engine("numpy").for_sparse(X.shape)(X, y)
    engine.weigh(normalized(w))
    for precise in (False, True):
        got = engine.residual_pass(coef, b, precise)
        want = residual_pass(X.toarray(), y, coef, b, precise, normalized(w))
        assert got.ss == pytest.approx(want.ss, rel=1e-14)
        np.testing.assert_allclose(got.grad.value, want.grad.value, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_summary_on_sparse_x_is_statsmodels_wls(fit_intercept):
    X, y, w = weighted_sparse(n=300, d=5, seed=8, zeros=False)
    model = fit_quietly(GDRegressor(fit_intercept=fit_intercept, seed=0), X, y, w)
    design = X.toarray()
    ref = sm.WLS(y, sm.add_constant(design) if fit_intercept else design, weights=w).fit()
    s = model.summary(at="exact")
    np.testing.assert_allclose([c.coef for c in s.coefficients], ref.params, rtol=1e-8)
    np.testing.assert_allclose([c.std_err for c in s.coefficients], ref.bse, rtol=1e-8)
    np.testing.assert_allclose([c.p_value for c in s.coefficients], ref.pvalues, rtol=1e-8, atol=1e-300)
    for name in ("rsquared", "llf", "ssr"):
        assert getattr(s, name) == pytest.approx(float(getattr(ref, name)), rel=1e-8), name
    robust = model.summary(X, y, cov_type="HC3", at="exact", sample_weight=w)
    ref3 = sm.WLS(y, sm.add_constant(design) if fit_intercept else design, weights=w).fit(cov_type="HC3")
    np.testing.assert_allclose([c.std_err for c in robust.coefficients], ref3.bse, rtol=1e-8)


def test_gradfit_fit_takes_weights_with_sparse_x():
    X, y, w = weighted_sparse(seed=9)
    a = gradfit.fit(X, y, FitConfig(seed=0), sample_weight=w, warn=False)
    b = gradfit.fit(X.toarray(), y, FitConfig(seed=0), sample_weight=w, warn=False)
    np.testing.assert_allclose(a.exact.coef, b.exact.coef, rtol=TOL)


def test_sklearn_sample_weight_equivalence_check_on_sparse_data():
    import sklearn.utils.estimator_checks as checks

    check = getattr(checks, "check_sample_weight_equivalence_on_sparse_data", None)
    if check is None:
        pytest.skip("this scikit-learn has no check_sample_weight_equivalence_on_sparse_data")
    check("GDRegressor", GDRegressor())

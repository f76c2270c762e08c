"""The exact solution agrees with independent solvers; descent reaches it (property-based)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

from gradfit.config import FitConfig
from gradfit.solver import fit

from .helpers import uncentered_data


@pytest.mark.parametrize("preprocess", ["none", "center", "standardize"])
def test_ols_matches_lstsq(preprocess):
    X, y = uncentered_data(n=80, d=4, seed=1)
    result = fit(X, y, FitConfig(epochs=1, preprocess=preprocess))
    ref = LinearRegression().fit(X, y)
    np.testing.assert_allclose(result.exact.coef, ref.coef_, rtol=1e-10)
    assert result.exact.intercept == pytest.approx(ref.intercept_, rel=1e-10)
    assert result.exact.method == "cholesky"


def test_no_intercept_matches_lstsq():
    X, y = uncentered_data(n=50, d=3, seed=2)
    result = fit(X, y, FitConfig(epochs=1, fit_intercept=False))
    np.testing.assert_allclose(result.exact.coef, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert result.exact.intercept == 0.0


def test_ridge_matches_sklearn():
    X, y = uncentered_data(n=60, d=4, seed=3)
    alpha = 0.3
    result = fit(X, y, FitConfig(epochs=1, loss="half_mse", alpha=alpha))
    ref = Ridge(alpha=alpha * len(y)).fit(X, y)  # Ridge: ‖r‖² + α‖w‖² = n·(½mean r² + ½α'‖w‖²)·2
    np.testing.assert_allclose(result.exact.coef, ref.coef_, rtol=1e-9)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_elastic_net_matches_sklearn(l1_ratio):
    X, y = uncentered_data(n=60, d=5, seed=4)
    result = fit(X, y, FitConfig(epochs=1, loss="half_mse", alpha=0.2, l1_ratio=l1_ratio))
    est = Lasso(alpha=0.2) if l1_ratio == 1.0 else ElasticNet(alpha=0.2, l1_ratio=l1_ratio)
    ref = est.set_params(tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(result.exact.coef, ref.coef_, rtol=1e-7, atol=1e-9)
    assert result.exact.method == "coordinate-descent"


def test_ill_conditioned_falls_back_to_lstsq():
    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    X = np.column_stack([x, x * (1 + 1e-12), rng.normal(size=40)])
    y = X[:, 0] + X[:, 2]
    result = fit(X, y, FitConfig(epochs=1))
    assert result.exact.method == "lstsq"
    np.testing.assert_allclose(X @ result.exact.coef + result.exact.intercept, y, atol=1e-6)


def test_gap_is_small_after_convergence_and_large_before():
    X, y = uncentered_data(n=100, d=3, seed=6)
    done = fit(X, y, FitConfig(lr="auto", epochs=3000, preprocess="standardize"))
    early = fit(X, y, FitConfig(lr="auto", epochs=2, preprocess="standardize"))
    assert done.gap.param_distance < 1e-10 and abs(done.gap.objective_gap) < 1e-12
    assert early.gap.param_distance > 1e-3 and early.gap.objective_gap > 0


def test_small_loss_is_accurate_near_optimum():
    """a tutorial line: x = 1,2,3, y = 2,4,6 ends with a tiny loss that must not cancel"""
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([2.0, 4.0, 6.0])
    cfg = dict(lr=0.01, epochs=3000)
    gram = fit(X, y, FitConfig(gram=True, **cfg)).history.loss
    plain = fit(X, y, FitConfig(gram=False, **cfg)).history.loss
    assert 0 < plain[-1] < 1e-5
    np.testing.assert_allclose(gram, plain, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(20, 60), d=st.integers(1, 4), seed=st.integers(0, 10_000),
    fit_intercept=st.booleans(), preprocess=st.sampled_from(["none", "center", "standardize"]),
    alpha=st.sampled_from([0.0, 0.01]),
)
def test_descent_reaches_closed_form(n, d, seed, fit_intercept, preprocess, alpha):
    """on random well-conditioned problems, full-batch descent with lr='auto' reaches θ*"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + rng.uniform(-2, 2, size=d)
    y = X @ rng.uniform(-3, 3, size=d) + rng.uniform(-2, 2) + 0.1 * rng.normal(size=n)
    cfg = FitConfig(lr="auto", epochs=20_000, tol=1e-15, n_iter_no_change=50, momentum=0.5,
                    fit_intercept=fit_intercept, preprocess=preprocess, alpha=alpha)
    if np.linalg.cond(np.column_stack([X, np.ones(n)])) > 50:
        return
    result = fit(X, y, cfg)
    assert result.gap.param_distance < 1e-6
    assert result.gap.objective_gap < 1e-10 * max(1.0, result.exact.objective)

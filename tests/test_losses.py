"""The robust losses: their formulas, their exact answers against independent references, and fits with them.

References: a brute-force vertex enumeration (the optimum of a piecewise-linear convex
objective over (w, b) lies where two rows sit on a kink), scikit-learn's QuantileRegressor
(alpha=0, HiGHS), scipy's BFGS for Huber, and scikit-learn's SGDRegressor for per-sample
huber / epsilon_insensitive steps (with and without its ASGD average).
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.optimize
import torch
from sklearn.linear_model import QuantileRegressor, SGDRegressor

from gradfit import GDRegressor
from gradfit.descent.losses import LOSSES, make_loss
from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines.torch import default_dtype
from gradfit.errors import OptionError
from gradfit.optimum.robust import design, objective, solve
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

ROBUST = {"huber": {"epsilon": 0.7}, "epsilon_insensitive": {"epsilon": 0.4}, "quantile": {"quantile": 0.3},
          "squared_epsilon_insensitive": {"epsilon": 0.4}}


def heavy_tailed(n=40, d=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 2.0 + 1.0
    y = X @ np.arange(1.0, d + 1.0) + 0.5 + rng.standard_t(2, size=n)
    return X, y


@pytest.mark.parametrize("name", LOSSES)
def test_value_and_derivative_by_definition(name):
    loss = make_loss(name, epsilon=0.5, quantile=0.3)
    r = np.array([-2.0, -0.5, -0.2, 0.0, 0.3, 0.5, 1.7])
    expected = {
        "mse": (r**2, 2 * r),
        "half_mse": (0.5 * r**2, r),
        "huber": (np.where(np.abs(r) <= 0.5, 0.5 * r**2, 0.5 * np.abs(r) - 0.125), np.clip(r, -0.5, 0.5)),
        "epsilon_insensitive": (np.maximum(0, np.abs(r) - 0.5), np.sign(r) * (np.abs(r) > 0.5)),
        "squared_epsilon_insensitive": (np.maximum(0, np.abs(r) - 0.5) ** 2, 2 * np.sign(r) * np.maximum(0, np.abs(r) - 0.5)),
        # pinball of u = y − ŷ = −r: τu for u ≥ 0, (τ − 1)u for u < 0
        "quantile": (np.where(-r >= 0, 0.3 * -r, (0.3 - 1) * -r), np.where(r > 0, 0.7, np.where(r < 0, -0.3, 0.0))),
    }[name]
    np.testing.assert_allclose(loss.value(r, loss.params), expected[0], rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(loss.deriv(r, loss.params), expected[1], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", LOSSES)
def test_one_formula_on_floats_arrays_and_tensors(name):
    """the same function gives the same numbers on Python floats, NumPy and torch (and autograd agrees)"""
    loss = make_loss(name, epsilon=0.5, quantile=0.3)
    r = np.array([-2.0, -0.3, 0.2, 0.9])
    floats = [loss.value(float(v), loss.params) for v in r], [loss.deriv(float(v), loss.params) for v in r]
    t = torch.tensor(r, requires_grad=True)
    with default_dtype(torch.float64):  # as the torch engine computes its cost
        loss.value(t, loss.params).sum().backward()
    np.testing.assert_array_equal(floats[0], loss.value(r, loss.params))
    np.testing.assert_array_equal(floats[1], loss.deriv(r, loss.params))
    np.testing.assert_allclose(t.grad.numpy(), loss.deriv(r, loss.params), rtol=1e-15)


@pytest.mark.parametrize("name,value,message", [
    ("huber", {"epsilon": 0.0}, r"option epsilon=0.0 must be a number > 0"),
    ("quantile", {"quantile": 1.5}, r"option quantile=1.5 must be a number in \(0, 1\)"),
    ("mae", {}, r"option loss='mae' is not one of"),
])
def test_bad_loss_settings_named(name, value, message):
    X, y = heavy_tailed()
    with pytest.raises(OptionError, match=message):
        fit(X, y, FitConfig(loss=name, **value))


def _vertex_optimum(loss, Z, yt):
    """brute force: the best point where two rows sit on a kink (r = 0, or r = ±ε)"""
    kinks = [0.0] if loss.name == "quantile" else [loss.params.epsilon, -loss.params.epsilon]
    best = None
    for i, j in itertools.combinations(range(len(yt)), 2):
        for ki, kj in itertools.product(kinks, repeat=2):
            A = Z[[i, j]]
            if abs(np.linalg.det(A)) < 1e-12:
                continue
            theta = np.linalg.solve(A, yt[[i, j]] + [ki, kj])
            value = objective(loss, Z, yt, theta, 0.0, 0.0, 1)
            if best is None or value < best[0]:
                best = (value, theta)
    return best


@pytest.mark.parametrize("name", ["quantile", "epsilon_insensitive"])
def test_linear_program_finds_the_vertex_optimum(name):
    X, y = heavy_tailed(n=25, seed=3)
    loss = make_loss(name, **ROBUST[name])
    Z, yt = design(X, y, Preprocessor.identity(1), True)
    theta, method = solve(loss, Z, yt, 0.0, 0.0, 1)
    value, _ = _vertex_optimum(loss, Z, yt)
    assert method == "highs-ipm+vertex"
    assert objective(loss, Z, yt, theta, 0.0, 0.0, 1) == pytest.approx(value, rel=1e-13)


def test_quantile_exact_answer_matches_quantile_regressor():
    """scikit-learn's QuantileRegressor with alpha=0 minimizes the same pinball loss (its quantile is ours)"""
    X, y = heavy_tailed(n=200, d=3, seed=4)
    model = GDRegressor(loss="quantile", quantile=0.3, preprocess="none", epochs=1).fit(X, y)
    ref = QuantileRegressor(quantile=0.3, alpha=0.0, solver="highs").fit(X, y)
    np.testing.assert_allclose(model.exact_.coef, ref.coef_, rtol=1e-9)
    assert model.exact_.intercept == pytest.approx(ref.intercept_, rel=1e-9)


def test_quantile_with_l1_matches_quantile_regressor_with_alpha():
    """QuantileRegressor's alpha·‖w‖₁ is our alpha with l1_ratio=1 on the raw data (preprocess='none')"""
    X, y = heavy_tailed(n=150, d=3, seed=13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(loss="quantile", quantile=0.3, alpha=0.05, l1_ratio=1.0, preprocess="none",
                            epochs=1).fit(X, y)
    ref = QuantileRegressor(quantile=0.3, alpha=0.05, solver="highs").fit(X, y)
    np.testing.assert_allclose(model.exact_.coef, ref.coef_, rtol=1e-8, atol=1e-10)
    assert model.exact_.intercept == pytest.approx(ref.intercept_, rel=1e-8)


@pytest.mark.parametrize("name", ["huber", "squared_epsilon_insensitive"])
def test_smooth_exact_answer_is_the_optimum(name):
    """Newton on the rows' quadratic pieces against BFGS to full precision, and a vanishing gradient"""
    X, y = heavy_tailed(n=300, d=3, seed=5)
    loss = make_loss(name, epsilon=0.7)
    Z, yt = design(X, y, Preprocessor.identity(3), True)
    theta, _ = solve(loss, Z, yt, 0.05, 0.0, 3)
    f = lambda t: objective(loss, Z, yt, t, 0.05, 0.0, 3)  # noqa: E731
    mask = np.r_[np.ones(3), 0.0]
    g = lambda t: Z.T @ loss.deriv(Z @ t - yt, loss.params) / len(yt) + 0.05 * mask * t  # noqa: E731
    ref = scipy.optimize.minimize(f, np.zeros(4), jac=g, method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(theta, ref, rtol=1e-7)
    assert np.abs(g(theta)).max() < 1e-13 * np.abs(Z).max() * 0.7


@pytest.mark.parametrize("name", ["huber", "quantile"])
def test_the_robust_exact_answer_reports_the_condition_of_the_equilibrated_normal_equations(name):
    """as ``ExactSolution.condition`` says (and least squares reports): columns of scales 1 and 1e6 are not ill
    conditioned; the design's own condition number (an SVD) would say 1e6, and took seconds on a million rows"""
    X, y = heavy_tailed(n=400, d=2, seed=3)
    X[:, 1] = X[:, 1] * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(loss=name, preprocess="none", epochs=1, tol=None).fit(X, y)
    Z = np.column_stack([X, np.ones(len(y))])
    assert np.linalg.cond(Z) > 1e5
    D = np.sqrt(np.diag(Z.T @ Z))
    two_norm = np.linalg.cond((Z.T @ Z) / np.outer(D, D))  # LAPACK estimates it in the 1-norm: within a factor 3
    assert two_norm / 3 <= model.exact_.condition <= 3 * two_norm < 100


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("name", ["huber", "epsilon_insensitive", "squared_epsilon_insensitive"])
def test_per_sample_steps_match_sgd_regressor(name, average):
    """SGDRegressor's huber / epsilon_insensitive with a constant rate, no penalty, rows in order: its
    epsilon is ours, its eta0 our lr, its average=True our average=True (the mean of every iterate)"""
    X, y = heavy_tailed(n=60, d=2, seed=6)
    eps = ROBUST[name]["epsilon"]
    ref = SGDRegressor(loss=name, epsilon=eps, penalty=None, learning_rate="constant", eta0=0.01, max_iter=1,
                       tol=None, shuffle=False, average=average)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: scikit-learn warns that it did not converge
        ref.fit(X, y)
    for engine in ("numpy", "python"):
        model = GDRegressor(loss=name, epsilon=eps, lr=0.01, momentum=0.0, batch_size=1, shuffle=False, epochs=1,
                            preprocess="none", average=average, engine=engine, tol=None).fit(X, y)
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-12)
        assert model.intercept_ == pytest.approx(float(ref.intercept_[0]), rel=1e-12)


@pytest.mark.parametrize("name", list(ROBUST))
def test_fits_reach_or_explain_the_exact_answer(name):
    X, y = heavy_tailed(n=200, d=2, seed=7)
    model = GDRegressor(loss=name, **ROBUST[name], batch_size=None, seed=0, epochs=3000, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    assert model.exact_ is not None and model.gap_ is not None
    assert model.verdict_.converged or model.verdict_.reason == "kink"
    assert model.gap_.param_distance < 0.05


def test_kinked_loss_with_a_fixed_step_is_diagnosed():
    X, y = heavy_tailed(n=100, d=1, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(loss="quantile", lr=0.05, epochs=300).fit(X, y)
    assert model.verdict_.reason == "kink" and "average=True" in model.verdict_.remedy


def test_summary_of_a_robust_fit_gives_no_least_squares_statistics():
    X, y = heavy_tailed(n=50, d=2, seed=9)
    model = GDRegressor(loss="huber", epsilon=1.0).fit(X, y)
    summary = model.summary()
    assert summary.at == "coefficients" and summary.rsquared is None
    assert all(c.std_err is None and c.p_value is None for c in summary.coefficients)
    assert "squared losses only" in str(summary) and "loss='huber'" in str(summary)


def test_no_exact_answer_for_a_penalty_the_robust_solver_lacks():
    X, y = heavy_tailed(n=50, d=2, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(loss="quantile", alpha=0.1, epochs=5).fit(X, y)
    assert model.exact_ is None and model.verdict_.reason == "no-exact-answer"


def test_l1_penalty_in_the_linear_program():
    """quantile with an L1 penalty: the LP's answer against the vertex-free check of nearby points"""
    X, y = heavy_tailed(n=60, d=2, seed=11)
    loss = make_loss("quantile", quantile=0.6)
    Z, yt = design(X, y, Preprocessor.identity(2), True)
    theta, _ = solve(loss, Z, yt, 0.0, 0.3, 2)
    best = objective(loss, Z, yt, theta, 0.0, 0.3, 2)
    rng = np.random.default_rng(0)
    for step in rng.normal(size=(200, 3)) * 1e-3:
        assert objective(loss, Z, yt, theta + step, 0.0, 0.3, 2) >= best - 1e-15


def test_gram_path_is_refused_for_a_robust_loss():
    X, y = heavy_tailed()
    with pytest.raises(OptionError, match=r"option gram=True needs a quadratic loss; loss='huber' is not one"):
        fit(X, y, FitConfig(loss="huber", gram=True))


def test_model_has_the_loss_object():
    model = LinearModel(2, True, make_loss("quantile", quantile=0.9))
    assert model.loss.params.quantile == 0.9 and not model.loss.is_quadratic
    assert LinearModel(2).loss.is_quadratic and LinearModel(2, loss="half_mse").loss.c == 1.0


def test_graph_draws_the_loss():
    from gradfit.views.graph import graph

    assert graph(loss="huber", epsilon=0.5).ops == ["Mul", "Add", "Sub", "huber", "Mean"]
    assert "huber(r, ε=0.5)" in graph(loss="huber", epsilon=0.5).to_dot()
    assert graph(loss="mse").ops == ["Mul", "Add", "Sub", "Pow", "Mean"]


def test_loss_surface_of_a_robust_fit_needs_the_rows():
    from gradfit.views.surface import loss_surface

    X, y = heavy_tailed(n=40, d=1, seed=12)
    model = GDRegressor(loss="epsilon_insensitive", epsilon=0.3, epochs=20).fit(X, y)
    with pytest.raises(OptionError, match=r"this plot needs the data \(X, y\): the loss 'epsilon_insensitive' is not"):
        loss_surface(model)
    ax = loss_surface(model, X, y)
    grid = ax.collections[0].get_array()
    assert float(np.min(grid)) >= model.exact_.objective - 1e-12  # nothing on the grid beats the exact answer


def test_the_linear_program_falls_back_to_the_dual_simplex_and_says_so(monkeypatch):
    """where HiGHS's interior point fails, the dual simplex solves the LP, and the method names it"""
    real = scipy.optimize.linprog

    def ipm_fails(*args, **kwargs):
        if kwargs["method"] == "highs-ipm":
            return scipy.optimize.OptimizeResult(status=4, message="numerical difficulties")
        return real(*args, **kwargs)

    monkeypatch.setattr(scipy.optimize, "linprog", ipm_fails)
    X, y = heavy_tailed(n=25, seed=3)
    loss = make_loss("quantile", **ROBUST["quantile"])
    Z, yt = design(X, y, Preprocessor.identity(1), True)
    theta, method = solve(loss, Z, yt, 0.0, 0.0, 1)
    assert method == "highs-ds+vertex"
    assert objective(loss, Z, yt, theta, 0.0, 0.0, 1) == pytest.approx(_vertex_optimum(loss, Z, yt)[0], rel=1e-13)


def test_a_long_linear_program_is_announced(monkeypatch, capsys):
    """from LP_ANNOUNCE_ROWS rows the exact answer's linear program says on stderr what it computes, and in how
    long; below, nothing"""
    import gradfit.optimum.robust as robust

    X, y = heavy_tailed(n=60, seed=3)
    loss = make_loss("quantile", **ROBUST["quantile"])
    Z, yt = design(X, y, Preprocessor.identity(1), True)
    solve(loss, Z, yt, 0.0, 0.0, 1)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(robust, "LP_ANNOUNCE_ROWS", 50)
    solve(loss, Z, yt, 0.0, 0.0, 1)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("gradfit: computing the quantile loss's exact answer, a linear program over 60 rows (seconds to "
                      "minutes)...")
    assert err[1].startswith("gradfit: computed the quantile loss's exact answer, a linear program over 60 rows in ")

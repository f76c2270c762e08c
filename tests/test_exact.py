"""The exact solution agrees with independent solvers; descent reaches it (property-based)."""

import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

from gradfit.errors import AccuracyWarning
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import uncentered_data

_spec = importlib.util.spec_from_file_location("nist", Path(__file__).parents[1] / "benchmarks" / "nist.py")
NIST = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(NIST)


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
    result = fit(X, y, FitConfig(epochs=1, loss="half_mse", alpha=alpha, preprocess="none"))  # sklearn: raw units
    ref = Ridge(alpha=alpha * len(y)).fit(X, y)  # Ridge: ‖r‖² + α‖w‖² = n·(½mean r² + ½α'‖w‖²)·2
    np.testing.assert_allclose(result.exact.coef, ref.coef_, rtol=1e-9)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_elastic_net_matches_sklearn(l1_ratio):
    X, y = uncentered_data(n=60, d=5, seed=4)
    result = fit(X, y, FitConfig(epochs=1, loss="half_mse", alpha=0.2, l1_ratio=l1_ratio, preprocess="none"))
    est = Lasso(alpha=0.2) if l1_ratio == 1.0 else ElasticNet(alpha=0.2, l1_ratio=l1_ratio)
    ref = est.set_params(tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(result.exact.coef, ref.coef_, rtol=1e-7, atol=1e-9)
    assert result.exact.method == "coordinate-descent"


def test_collinear_columns_get_the_minimum_norm_answer_and_a_warning():
    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    X = np.column_stack([x, x * (1 + 1e-12), rng.normal(size=40)])  # column 1 is a multiple of column 0
    y = X[:, 0] + X[:, 2]
    with pytest.warns(AccuracyWarning, match="numerical rank 3 of 4: columns x0, x1 are collinear.*minimum-norm"):
        result = fit(X, y, FitConfig(epochs=1))
    assert result.exact.method == "lstsq+refinement" and result.exact.rank == 3
    np.testing.assert_allclose(X @ result.exact.coef + result.exact.intercept, y, atol=1e-12)
    assert result.exact.coef[0] == pytest.approx(result.exact.coef[1], rel=1e-9)  # the minimum-norm split


def exact_rational_lstsq(X, y, fit_intercept=True) -> np.ndarray:
    """the least-squares answer of the float64 data in exact rational arithmetic: [coef..., intercept]"""
    beta = NIST.rational_lstsq(X, y, fit_intercept)
    return np.r_[beta[1:], beta[0]] if fit_intercept else beta


def lre(estimate, reference) -> float:
    """least number of agreeing significant digits"""
    err = np.abs(np.asarray(estimate) - reference) / np.abs(reference)
    return float(-np.log10(max(err.max(), 1e-16)))


@pytest.mark.parametrize("engine", ["numpy", "python", "torch"])
def test_nearly_collinear_design_is_refined_to_the_exact_rational_answer(engine):
    """condition ~1e9: the Gram answer has about 4 digits; QR with double-double refinement has them all"""
    rng = np.random.default_rng(8)
    x = rng.uniform(1.0, 2.0, size=60)
    X = np.column_stack([x, x + 1e-9 * rng.normal(size=60), rng.normal(size=60)])
    y = X @ [1.0, 2.0, 3.0] + 0.5 + 0.01 * rng.normal(size=60)
    result = fit(X, y, FitConfig(epochs=0, engine=engine))
    exact = result.exact
    assert exact.method == "qr+refinement" and exact.rank == 4 and exact.condition > 1e15
    reference = exact_rational_lstsq(X, y)
    assert exact.digits >= 15.0
    assert lre([*exact.coef, exact.intercept], reference) >= exact.digits - 0.5
    resid = [Fraction(t) - sum(Fraction(v) * Fraction(c) for v, c in zip([*row, 1.0], reference)) for row, t in zip(X, y)]
    assert exact.rss == pytest.approx(float(sum(r * r for r in resid)), rel=1e-12)


def test_without_the_data_in_memory_the_normal_equations_are_refined(monkeypatch):
    """the Dask path when the data is too large to gather: refinement by double-double residual passes"""
    monkeypatch.setattr("gradfit.engines.numpy.NumpyEngine.design", lambda self: None)
    x = np.arange(21.0)
    X = x[:, None] ** np.arange(1, 6)
    y = 1.0 + X.sum(axis=1) + np.where(np.arange(21) % 2, 1e3, -1e3)  # Wampler-like, large residuals
    result = fit(X, y, FitConfig(epochs=0))
    assert result.exact.method == "cholesky+refinement"
    assert lre([*result.exact.coef, result.exact.intercept], exact_rational_lstsq(X, y)) >= 14.0
    assert result.exact.digits >= 14.0


def test_exact_solution_keeps_its_accuracy_record_in_a_dict():
    X, y = uncentered_data(n=30, d=2, seed=9)
    d = fit(X, y, FitConfig(epochs=0)).exact.to_dict()
    assert {"method", "digits", "rank", "rss", "factor"} <= set(d) and d["rank"] == 3 and d["digits"] >= 13.0


def test_gap_is_small_after_convergence_and_large_before():
    X, y = uncentered_data(n=100, d=3, seed=6)
    done = fit(X, y, FitConfig(lr="auto", epochs=3000, preprocess="standardize", tol=None))
    early = fit(X, y, FitConfig(lr="auto", epochs=2, preprocess="standardize", tol=None))
    assert done.gap.param_distance < 1e-10 and abs(done.gap.objective_gap) < 1e-12
    assert early.gap.param_distance > 1e-3 and early.gap.objective_gap > 0


def test_small_loss_is_accurate_near_optimum():
    """a tutorial line: x = 1,2,3, y = 2,4,6 ends with a tiny loss that must not cancel"""
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([2.0, 4.0, 6.0])
    cfg = dict(lr=0.01, epochs=3000, preprocess="none", tol=None)
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
    """on random well-conditioned problems, the default full-batch descent reaches θ* and says so"""
    assume(fit_intercept or preprocess != "center")  # refused without an intercept (tested in test_trust)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + rng.uniform(-2, 2, size=d)
    y = X @ rng.uniform(-3, 3, size=d) + rng.uniform(-2, 2) + 0.1 * rng.normal(size=n)
    cfg = FitConfig(fit_intercept=fit_intercept, preprocess=preprocess, alpha=alpha, tol=1e-8)
    if np.linalg.cond(np.column_stack([X, np.ones(n)])) > 50:
        return
    result = fit(X, y, cfg)
    assert result.converged and result.gap.param_distance <= 1e-8
    assert result.gap.objective_gap < 1e-10 * max(1.0, result.exact.objective)


def wampler4():
    """NIST Wampler4's design and data (degree 5 in x = 0..20, large residuals): exact in float64"""
    return NIST.load("Wampler4").X, NIST.load("Wampler4").y


@pytest.mark.parametrize("gather_bytes, method", [(1 << 28, "qr+refinement"), (0, "cholesky+refinement")])
def test_dask_exact_answer_is_refined_gathered_or_by_distributed_passes(monkeypatch, gather_bytes, method):
    da = pytest.importorskip("dask.array")
    from distributed import Client, LocalCluster

    monkeypatch.setattr("gradfit.engines.dask.GATHER_BYTES", gather_bytes)
    X, y = wampler4()
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster):
        result = fit(da.from_array(X, chunks=(7, -1)), da.from_array(y, chunks=7),
                     FitConfig(epochs=0, engine="dask", engine_options={"progress": False}))
    assert result.exact.method == method
    assert lre([*result.exact.coef, result.exact.intercept], exact_rational_lstsq(X, y)) >= 14.0
    assert result.exact.digits >= 13.0


@pytest.mark.parametrize("engine", ["numpy", "python", "torch"])
def test_precise_residual_pass_is_exact_to_double_double(engine):
    """Σr², Xᵀr and Σr at a point near the optimum, where float64 residuals lose most digits"""
    from gradfit.engines import get_engine

    X, y = wampler4()
    beta = exact_rational_lstsq(X, y)
    coef, b = beta[:5] * (1 + 1e-13), beta[5]
    p = get_engine(engine)(X, y).residual_pass(coef, b, precise=True)
    r = [Fraction(t) - Fraction(b) - sum(Fraction(v) * Fraction(c) for v, c in zip(row, coef)) for row, t in zip(X, y)]
    exact = [sum(Fraction(row[j]) * ri for row, ri in zip(X, r)) for j in range(5)] + [sum(r)]
    np.testing.assert_allclose(p.grad.value, [float(g) for g in exact], rtol=1e-14)
    assert p.ss == pytest.approx(float(sum(ri * ri for ri in r)), rel=1e-14)


def _designs():
    """(label, X, y): conditioning 1 to 1e6, large column means, R² up to 1 − 1e-12"""
    for mean, corr, noise in [(1.0, 0.0, 1.0), (100.0, 0.0, 1.0), (1e4, 0.0, 1.0), (0.0, 0.999, 1.0),
                              (3.0, 0.99999, 1.0), (0.0, 0.0, 1e-3), (0.0, 0.0, 1e-6)]:
        rng = np.random.default_rng(5)
        n, d = 60_000, 6
        X = np.sqrt(1 - corr) * rng.normal(size=(n, d)) + np.sqrt(corr) * rng.normal(size=(n, 1)) + mean
        w = np.linspace(-1.0, 1.0, d) + 0.1 if mean == 1.0 else rng.normal(size=d)
        yield f"mean={mean} corr={corr} noise={noise}", X, X @ w + 0.5 + noise * rng.normal(size=n)


@pytest.mark.parametrize("label, X, y", list(_designs()), ids=lambda v: v if isinstance(v, str) else "")
def test_gram_answer_promises_no_more_digits_than_it_has(label, X, y):
    """the a-priori digits of the Gram answer (which spare the check pass) against the QR-refined answer;
    statistics merged from 5 partitions as the Dask engine merges them"""
    from gradfit.optimum import normal, qr, refine
    from gradfit.optimum.gram import GramStats, block_stats

    bounds = np.linspace(0, len(y), 6).astype(int)
    stats = GramStats.merge([block_stats(X[a:b], y[a:b], workers=1) for a, b in zip(bounds, bounds[1:])])
    system = normal.NormalSystem.of(stats, True)
    solver = normal.spd_solver(system.gram)
    coef = solver.solve(system.rhs)
    known = normal.gram_answer(stats, system, solver, coef)
    reference = qr.qr_refined(X, y, True, coef, system.intercept(coef))
    assert reference.digits >= 13.0
    measured = refine.digits_of(refine.relative_step(reference.coef, coef - reference.coef))
    measured_rss = refine.digits_of(abs(known.rss - reference.rss) / reference.rss)
    assert known.digits <= measured and known.rss_digits <= measured_rss, (known, measured, measured_rss)
    if label.startswith("mean=1.0 "):  # a well-conditioned, noisy design spares the check pass
        assert min(known.digits, known.rss_digits) >= refine.TARGET_DIGITS


def test_the_check_pass_is_spared_only_when_the_statistics_or_the_pilot_promise_enough(monkeypatch):
    """the Gram answer itself, or the residuals the statistics pass measured at its pilot (``optimum.pilot``),
    spare the second read where they promise the digits; large column means (δ of 2e-12) promise neither"""
    from gradfit.engines.numpy import NumpyEngine

    calls = []
    measure = NumpyEngine.residual_pass
    monkeypatch.setattr(NumpyEngine, "residual_pass", lambda self, *a, **k: calls.append(a) or measure(self, *a, **k))
    designs = {label: (X, y) for label, X, y in _designs()}
    spared = fit(*designs["mean=1.0 corr=0.0 noise=1.0"], FitConfig(epochs=1))
    assert calls == [] and spared.exact.method == "cholesky" and spared.exact.digits >= 13.0
    reference = LinearRegression().fit(*designs["mean=1.0 corr=0.0 noise=1.0"])
    np.testing.assert_allclose(spared.exact.coef, reference.coef_, rtol=1e-12)
    near_perfect = fit(*designs["mean=0.0 corr=0.0 noise=1e-06"], FitConfig(epochs=1))
    assert calls == [] and near_perfect.exact.method == "cholesky" and near_perfect.exact.digits >= 13.0
    reference = LinearRegression().fit(*designs["mean=0.0 corr=0.0 noise=1e-06"])
    np.testing.assert_allclose(near_perfect.exact.coef, reference.coef_, rtol=1e-12)
    far_means = fit(*designs["mean=10000.0 corr=0.0 noise=1.0"], FitConfig(epochs=1))
    assert len(calls) >= 1 and far_means.exact.digits >= 13.0

"""The check pass carried by the statistics pass (``gradfit.optimum.pilot``): the residual sums measured at a
pilot answer and moved to the Gram answer, against passes over the data (float64 and double-double) and the
QR-refined answer; the fit reads dense data once where they promise the digits, and again where they do not."""

import numpy as np
import pytest

from gradfit.engines.numpy import NumpyEngine
from gradfit.optimum import normal, qr, refine
from gradfit.optimum.accurate import residual_pass
from gradfit.optimum.gram import GramStats, block_stats
from gradfit.optimum.normal import head_pilot
from gradfit.optimum.pilot import Pilot, carry
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .test_exact import _designs


def _stats(X, y, w=None, parts=1):
    """the statistics with residual sums at a pilot, from ``parts`` partitions merged as Dask merges them: each
    partition's sums at the pilot of its own first rows, carried to the first partition's pilot"""
    bounds = np.linspace(0, len(y), parts + 1).astype(int)
    return GramStats.merge([block_stats(X[a:b], y[a:b], workers=1, pilot=head_pilot(X[a:b], y[a:b], _rows(w, a, b)),
                                        weights=_rows(w, a, b)) for a, b in zip(bounds, bounds[1:])])


def _rows(w, a, b):
    return None if w is None else w[a:b]


def _gram_answer(stats, fit_intercept=True):
    system = normal.NormalSystem.of(stats, fit_intercept)
    solver = normal.spd_solver(system.gram)
    coef = solver.solve(system.rhs)
    return system, solver, coef, system.intercept(coef)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("parts", [1, 5])
def test_carried_sums_equal_a_pass_at_any_nearby_point(weighted, parts):
    """at points around the pilot the carried Σw̃r², Xᵀw̃r and Σw̃r equal a double-double pass there (1e-12 of
    their size), from one pass or from 5 partitions merged"""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30_000, 5)) * [1, 10, 0.1, 3, 1] + [2, -5, 0, 40, 1]
    y = X @ rng.normal(size=5) + 1.5 + rng.normal(size=30_000)
    w = rng.integers(0, 4, 30_000).astype(float) if weighted else None
    stats = _stats(X, y, w, parts)
    delta = stats.rounding
    for scale in (0.0, 1e-3, 1e-1):
        coef = stats.pilot.pilot.coef * (1 + scale * rng.normal(size=5))
        b = stats.pilot.pilot.intercept + scale
        carried = carry(stats.pilot, coef, b, stats.x_mean, stats.xtx, stats.weight_total, delta).check
        direct = residual_pass(X, y, coef, b, precise=True, weights=w)
        assert carried.ss == pytest.approx(direct.ss, rel=1e-12)
        size = np.abs(X).sum(axis=0).max() * np.sqrt(direct.ss / len(y))
        np.testing.assert_allclose(carried.grad.value, direct.grad.value, atol=1e-12 * size)


@pytest.mark.parametrize("weighted", [False, True])
def test_partitions_with_pilots_of_their_own_merge_to_the_sums_at_one_pilot(weighted):
    """5 partitions, each summed at the pilot of its own head, merged: the sums equal one pass at the first
    pilot (1e-12 of their size), and the rounding the moves may add is counted"""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50_000, 4)) + [0, 3, -1, 10]
    y = X @ [1.0, -1.0, 2.0, 0.5] + rng.normal(size=50_000)
    w = rng.uniform(0.0, 3.0, 50_000) if weighted else None
    merged = _stats(X, y, w, parts=5).pilot
    one = block_stats(X, y, weights=w, pilot=merged.pilot).pilot
    np.testing.assert_array_equal(merged.pilot.coef, head_pilot(X[:10_000], y[:10_000], _rows(w, 0, 10_000)).coef)
    assert merged.ss == pytest.approx(one.ss, rel=1e-12)
    assert merged.total == pytest.approx(one.total, abs=1e-12 * np.sqrt(one.ss * 50_000))
    np.testing.assert_allclose(merged.grad, one.grad, atol=1e-12 * np.abs(X).sum(axis=0).max() * np.sqrt(one.ss))
    assert merged.moved > 0.0 and 0.0 < merged.err < 1e-12 * merged.ss


def test_integer_weights_carry_as_repeated_rows():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20_000, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=20_000)
    w = rng.integers(0, 3, 20_000)
    pilot = Pilot(np.array([0.9, -2.1, 0.4]), 0.1)
    weighted = block_stats(X, y, weights=w.astype(float), pilot=pilot).pilot
    repeated = block_stats(np.repeat(X, w, axis=0), np.repeat(y, w), pilot=pilot).pilot
    assert weighted.ss == pytest.approx(repeated.ss, rel=1e-12)
    assert weighted.total == pytest.approx(repeated.total, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(weighted.grad, repeated.grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("label, X, y", list(_designs()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_pilot_promises_no_more_digits_than_it_has(label, X, y, fit_intercept):
    """where the carried check is taken (conditioning 1 to 1e6, column means to 1e4, R² up to 1 − 1e-12), the
    digits it promises hold against the QR-refined answer, and its sums equal a float64 check pass's"""
    stats = _stats(X, y, parts=5)
    system, solver, coef, b = _gram_answer(stats, fit_intercept)
    carried = normal.pilot_check(stats, system, solver, coef, b)
    if carried is None:
        return
    reference = qr.qr_refined(X, y, fit_intercept, coef, b)
    assert reference.digits >= 13.0
    correction = system.correction(solver.solve, carried.check.grad.value)
    claimed = min(carried.digits, refine.digits_of(refine.relative_step(
        refine.params_of(coef, b, fit_intercept), refine.params_of(*correction, fit_intercept))))
    measured = refine.digits_of(refine.relative_step(refine.params_of(reference.coef, reference.intercept,
                                                                      fit_intercept),
                                                     refine.params_of(coef - reference.coef, b - reference.intercept,
                                                                      fit_intercept)))
    assert claimed <= measured + 0.5, (claimed, measured)
    float64 = residual_pass(X, y, coef, b)
    assert carried.check.ss == pytest.approx(float64.ss, rel=1e-8)
    assert carried.check.ss == pytest.approx(reference.rss, rel=1e-8)


def test_a_pilot_far_from_the_answer_sends_the_check_back_to_the_data(monkeypatch):
    """a near-perfect fit (R² = 1 − 1e-15) and a pilot far from its answer: the carried sums cannot promise the
    residual sum of squares, so the data is read again, and the answer is the exact one"""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60_000, 3))
    y = X @ [1.0, 2.0, 3.0] + 1e-7 * rng.normal(size=60_000)
    far = Pilot(np.array([-4.0, 0.0, 9.0]), 2.0)
    stats = block_stats(X, y, pilot=far)
    system, solver, coef, b = _gram_answer(stats)
    assert normal.pilot_check(stats, system, solver, coef, b) is None
    calls = []
    measure = NumpyEngine.residual_pass
    monkeypatch.setattr(NumpyEngine, "residual_pass", lambda self, *a, **k: calls.append(a) or measure(self, *a, **k))
    monkeypatch.setattr("gradfit.engines.numpy.head_pilot", lambda *a, **k: far)
    result = fit(X, y, FitConfig(epochs=1))
    assert calls
    reference = qr.qr_refined(X, y, True, coef, b)
    np.testing.assert_allclose(result.exact.coef, reference.coef, rtol=1e-12)


def test_a_head_that_is_not_finite_or_weighs_nothing_gives_no_pilot():
    X = np.ones((100, 2))
    y = np.arange(100.0)
    X[3, 1] = np.nan
    assert head_pilot(X, y) is None
    w = np.r_[np.zeros(50), np.ones(50)]
    assert head_pilot(np.random.default_rng(0).normal(size=(100, 2)), y, w, rows=50) is None


def test_a_dense_fit_reads_its_data_once_before_the_epochs(monkeypatch):
    """no check pass after the statistics pass on well-scaled noisy data, weighted or not, with or without an
    intercept; the exact answer equals scikit-learn's LinearRegression (1e-12) and its residual sum of squares a
    double-double pass (1e-12, with the weights as the fit normalizes them)"""
    from sklearn.linear_model import LinearRegression

    calls = []
    measure = NumpyEngine.residual_pass
    monkeypatch.setattr(NumpyEngine, "residual_pass", lambda self, *a, **k: calls.append(a) or measure(self, *a, **k))
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50_000, 8)) * np.arange(1, 9) + np.arange(8)
    y = X @ rng.normal(size=8) - 3.0 + 0.3 * rng.normal(size=50_000)
    w = rng.uniform(0.5, 2.0, 50_000)
    for fit_intercept in (True, False):
        for weights in (None, w):
            result = fit(X, y, FitConfig(epochs=1, fit_intercept=fit_intercept), sample_weight=weights)
            reference = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=weights)
            np.testing.assert_allclose(result.exact.coef, reference.coef_, rtol=1e-12)
            ss = residual_pass(X, y, np.asarray(result.exact.coef), result.exact.intercept, precise=True,
                               weights=None if weights is None else weights / weights.mean()).ss  # w̃ = w / mean w
            assert result.exact.rss == pytest.approx(ss, rel=1e-12)
    assert calls == []

"""GDRegressor: scikit-learn's own checks, Pipeline and GridSearchCV, partial_fit, warm_start, messages."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gradfit import (
    ConvergenceWarning,
    DataError,
    DivergenceError,
    GDRegressor,
    OptionError,
    engines,
)
from gradfit.engines.numpy import NumpyEngine
from gradfit.io.datasets import make_regression_data

from .helpers import assert_same_history


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__


def _run_with_array_api(check) -> None:
    """scikit-learn runs its array-API check only with SCIPY_ARRAY_API=1 set before SciPy is
    imported, which would change SciPy for every other test here: run it in its own process"""
    code = ("from sklearn.utils.estimator_checks import check_array_api_input as check\n"
            "from gradfit import GDRegressor\n"
            f"check('GDRegressor', GDRegressor(), **{check.keywords!r})\n")
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@parametrize_with_checks([GDRegressor()])
def test_scikit_learn_checks(estimator, check):
    if _check_name(check) == "check_array_api_input":
        _run_with_array_api(check)
    else:
        check(estimator)


@pytest.fixture
def data():
    return make_regression_data(n=60, d=3, noise=0.1, seed=0)


def test_reaches_least_squares(data):
    model = GDRegressor(tol=1e-10).fit(data.X, data.y)
    reference = LinearRegression().fit(data.X, data.y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-9)
    assert model.gap_.param_distance < 1e-10 and model.exact_.method == "cholesky" and model.converged_
    assert model.n_iter_ == model.t_ and len(model.history_) == model.n_iter_ + 1
    assert model.score(data.X, data.y) == pytest.approx(reference.score(data.X, data.y), abs=1e-10)


def test_inside_a_pipeline(data):
    pipe = make_pipeline(StandardScaler(), GDRegressor(tol=1e-10)).fit(data.X, data.y)
    reference = LinearRegression().fit(data.X, data.y)
    np.testing.assert_allclose(pipe.predict(data.X), reference.predict(data.X), rtol=1e-6, atol=1e-6)


def test_grid_search_over_lr_prefers_the_fastest_stable_rate(data):
    search = GridSearchCV(GDRegressor(preprocess="standardize", epochs=50), {"lr": [0.001, 0.01, 0.1]}, cv=3)
    search.fit(data.X, data.y)
    assert search.best_params_ == {"lr": 0.1}
    assert search.best_estimator_.score(data.X, data.y) > 0.99


def test_two_partial_fits_equal_a_two_epoch_fit(data):
    settings = dict(lr=0.01, momentum=0.9, batch_size=7, seed=3)
    stepwise = GDRegressor(**settings).partial_fit(data.X, data.y).partial_fit(data.X, data.y)
    at_once = GDRegressor(epochs=2, **settings).fit(data.X, data.y)
    assert stepwise.n_iter_ == 2 and stepwise.t_ == at_once.t_ == 18 and len(stepwise.history_) == 3
    assert_same_history(at_once.history_, stepwise.history_, rtol=1e-13)
    np.testing.assert_allclose(stepwise.coef_, at_once.coef_, rtol=1e-13)


def test_partial_fit_after_fit_continues_its_history(data):
    model = GDRegressor(lr="auto", epochs=5).fit(data.X, data.y)
    first_lr = model.lr_
    model.partial_fit(data.X, data.y)
    assert model.n_iter_ == 6 and model.history_.epoch == [0, 1, 2, 3, 4, 5, 6] and model.lr_ == first_lr


@pytest.mark.parametrize("preprocess", ["none", "standardize"])
def test_warm_start_continues_the_descent(data, preprocess):
    ten = GDRegressor(lr=0.005, epochs=10, optimizer="adam", batch_size=7, seed=3, preprocess=preprocess)
    ten.fit(data.X, data.y)
    model = GDRegressor(lr=0.005, epochs=5, optimizer="adam", batch_size=7, seed=3, warm_start=True,
                        preprocess=preprocess)
    model.fit(data.X, data.y).fit(data.X, data.y)
    # optimizer state, epoch count, shuffles and history go on: 5 + 5 epochs are the 10
    assert model.n_iter_ == 10 and model.history_.epoch == ten.history_.epoch
    assert model.coef_.tolist() == ten.coef_.tolist() and model.history_.loss == ten.history_.loss
    cold = GDRegressor(lr=0.005, epochs=5, preprocess=preprocess).fit(data.X, data.y).fit(data.X, data.y)
    assert cold.history_.coef[0] == [0.0, 0.0, 0.0]


def test_warm_start_with_other_features_is_refused(data):
    model = GDRegressor(epochs=2, warm_start=True).fit(data.X, data.y)
    with pytest.raises(DataError, match="warm_start=True: X has 2 features but the previous fit had 3"):
        model.fit(data.X[:, :2], data.y)


def test_dataframe_names_reach_the_model_and_its_history(data):
    frame = pd.DataFrame(data.X, columns=["area", "rooms", "age"])
    model = GDRegressor(epochs=3).fit(frame, data.y)
    assert list(model.feature_names_in_) == ["area", "rooms", "age"]
    assert model.history_.feature_names == ["area", "rooms", "age"]
    np.testing.assert_allclose(model.predict(frame), data.X @ model.coef_ + model.intercept_, rtol=1e-12)


BAD_INPUT = {
    "nan": (np.array([[1.0, 2.0], [3.0, np.nan], [0.0, 1.0]]), [1, 2, 3],
            r"column 'x1' has a missing value \(NaN\) at row index 1"),
    "inf": (np.array([[1.0, 2.0], [-np.inf, 0.0], [0.0, 1.0]]), [1, 2, 3],
            r"column 'x0' has an infinite value \(inf\) at row index 1"),
    "text column": (pd.DataFrame({"a": [1.0, 2.0], "city": ["Oslo", "Rome"]}), [1, 2], r"column 'city' is not numeric"),
    "single row": (np.array([[1.0, 2.0]]), [1.0], r"X has a single row \(1 sample\)"),
    "lengths": (np.ones((4, 2)), [1.0, 2.0, 3.0], r"X has 4 rows but y has 3; they must match"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gets_gradfits_message(case):
    X, y, message = BAD_INPUT[case]
    with pytest.raises(DataError, match=message):
        GDRegressor(epochs=2).fit(X, y)


def test_bad_option_is_named(data):
    with pytest.raises(OptionError, match=r"option optimizer='foo' is not one of"):
        GDRegressor(optimizer="foo").fit(data.X, data.y)


def test_divergence_names_the_learning_rate(data):
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+: .* with lr=1000; a stable learning rate"):
        GDRegressor(lr=1e3).fit(data.X, data.y)


def test_convergence_warning_comes_through(data):
    with pytest.warns(ConvergenceWarning, match=r"distance of .* from the exact optimum \(tol=1e-12\).*epochs="):
        GDRegressor(epochs=3, tol=1e-12).fit(data.X, data.y)


def test_default_lr_is_safe_for_large_features():
    X = np.random.default_rng(0).normal(loc=100.0, size=(30, 2))
    model = GDRegressor(preprocess="none").fit(X, X @ [1.0, -1.0])
    assert 0 < model.lr_ < 1e-3 and np.isfinite(model.history_.loss).all()


def test_verbose_shows_a_progress_bar(data, capsys, monkeypatch):
    GDRegressor(epochs=4, verbose=True).fit(data.X, data.y)
    assert "fitting" not in capsys.readouterr().out  # a quick fit ends before the bar's delay
    monkeypatch.setattr("gradfit.training.solver.PROGRESS_DELAY", 0.0)
    GDRegressor(epochs=4, verbose=True).fit(data.X, data.y)
    assert "fitting" in capsys.readouterr().out


class _RecordingEngine(NumpyEngine):
    """an engine that declares it takes lazy data, and records what it was given"""

    received = []
    lazy_data = True

    def __init__(self, X, y, **options):
        _RecordingEngine.received.append(type(X))
        super().__init__(X.to_numpy(), np.asarray(y), **options)


def test_lazy_data_engine_gets_the_collections_untouched(data, monkeypatch):
    monkeypatch.setitem(engines._REGISTRY, "dask", _RecordingEngine)
    frame = pd.DataFrame(data.X, columns=["p", "q", "r"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GDRegressor(engine="dask").fit(frame, data.y)
    assert _RecordingEngine.received == [pd.DataFrame]
    assert model.n_features_in_ == 3 and list(model.feature_names_in_) == ["p", "q", "r"]

"""Every fit tells the truth about where it ended: silent wrong answers, the verdict, defaults that converge."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradfit import GDRegressor
from gradfit.errors import ConvergenceWarning, NotAtOptimumWarning, OptionError

#: NIST StRD NoInt1: y = B1·x, certified B1 = 2.07438016528926 (no intercept)
NOINT1_X = np.arange(60.0, 71.0).reshape(-1, 1)
NOINT1_Y = np.arange(130.0, 141.0)
NOINT1_B1 = 2.07438016528926


def quiet_fit(model, X, y):
    """fit with warnings turned into a list: (model, warnings)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return model, [w for w in caught if issubclass(w.category, ConvergenceWarning)]


# --- 1. no intercept with preprocessing --------------------------------------------------------

@pytest.mark.parametrize("preprocess", ["standardize", "auto"])
def test_no_intercept_with_scaling_fits_the_certified_no_intercept_model(preprocess):
    model = GDRegressor(fit_intercept=False, preprocess=preprocess, tol=1e-10, epochs=5000)
    model.fit(NOINT1_X, NOINT1_Y)
    assert model.intercept_ == 0.0
    assert model.preprocessor_.x_shift == (0.0,) and model.preprocessor_.y_shift == 0.0
    np.testing.assert_allclose(model.exact_.coef, [NOINT1_B1], rtol=1e-12)
    np.testing.assert_allclose(model.coef_, [NOINT1_B1], rtol=1e-9)
    assert model.converged_


def test_no_intercept_refuses_centering():
    with pytest.raises(OptionError, match=r"option preprocess='center' needs fit_intercept=True"):
        GDRegressor(fit_intercept=False, preprocess="center").fit(NOINT1_X, NOINT1_Y)


# --- 4. float32 on data float32 cannot hold -------------------------------------------------

def test_float32_exact_answer_is_computed_in_float64_and_the_loss_of_precision_is_said():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    X, y = 1e8 + x, 3.0 * x[:, 0] + 2.0
    model = GDRegressor(dtype="float32", epochs=50, tol=None)
    with pytest.warns(UserWarning, match=r"column 'x0' .*float32"):
        model.fit(X, y)
    np.testing.assert_allclose(model.exact_.coef, [3.0], rtol=1e-9)


# --- 5. tol is relative, converged_ means at the optimum ------------------------------------

def test_converged_means_at_the_optimum_whatever_tol_was():
    X, y = NOINT1_X, NOINT1_Y
    model = GDRegressor(preprocess="standardize", lr="auto", epochs=20000, tol=None).fit(X, y)
    assert model.gap_.param_distance < 1e-9
    assert model.converged_


def test_tol_is_a_relative_distance_to_the_optimum():
    # Pontius-like scale: a tiny absolute tolerance used to stop far from the optimum
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 3e6, size=(40, 1))
    X = np.column_stack([X, X**2])
    y = 0.67 + 7e-7 * X[:, 0] - 1e-15 * X[:, 1] + 1e-4 * rng.normal(size=40)
    model, caught = quiet_fit(GDRegressor(preprocess="standardize", tol=1e-6), X, y)
    assert model.converged_ == (model.gap_.distance <= 1e-6)
    assert model.converged_, model.verdict_.message


# --- defaults that converge -----------------------------------------------------------------

def _statsmodels_sets():
    from statsmodels import datasets as ds

    out = {}
    for name in ["stackloss", "longley", "fair", "ccard", "cpunish", "scotland", "copper", "statecrime", "engel"]:
        data = getattr(ds, name).load_pandas()
        out[name] = (data.exog.select_dtypes("number").astype(float), np.asarray(data.endog, dtype=float))
    return out


@pytest.fixture(scope="module")
def statsmodels_sets():
    pytest.importorskip("statsmodels")
    return _statsmodels_sets()


@pytest.mark.parametrize("name", ["stackloss", "longley", "fair", "ccard", "cpunish", "scotland", "copper",
                                  "statecrime", "engel"])
def test_default_fit_reaches_the_optimum_on_real_data(statsmodels_sets, name):
    X, y = statsmodels_sets[name]
    model, caught = quiet_fit(GDRegressor(), X, y)
    assert model.gap_.param_distance <= 1e-6, model.verdict_.message
    assert model.converged_ and not caught


def test_the_tutorial_settings_are_still_plain_gradient_descent():
    X, y = NOINT1_X[:, 0:1] - 65.0, NOINT1_Y
    model = GDRegressor(preprocess="none", lr=0.01, momentum=0.0, epochs=7, tol=None).fit(X, y)
    assert model.n_iter_ == 7 and len(model.history_) == 8
    assert model.lr_ == 0.01 and model.momentum_ == 0.0


# --- the verdict at fit time ----------------------------------------------------------------

def test_badly_scaled_features_get_a_warning_that_names_the_remedy(statsmodels_sets):
    X, y = statsmodels_sets["stackloss"]
    model, caught = quiet_fit(GDRegressor(preprocess="none", epochs=100), X, y)
    assert not model.converged_ and len(caught) == 1
    assert issubclass(caught[0].category, NotAtOptimumWarning)
    message = str(caught[0].message)
    assert "preprocess='standardize'" in message and "condition number" in message
    fixed, caught = quiet_fit(GDRegressor(preprocess="standardize", epochs=100_000), X, y)
    assert fixed.converged_ and not caught


def test_too_few_epochs_get_an_estimate_that_works(statsmodels_sets):
    X, y = statsmodels_sets["longley"]
    model, caught = quiet_fit(GDRegressor(epochs=100), X, y)
    assert not model.converged_ and model.verdict_.reason == "too-few-epochs"
    needed = model.verdict_.epochs_needed
    assert needed is not None and f"epochs={needed}" in str(caught[0].message)
    fixed, caught = quiet_fit(GDRegressor(epochs=needed), X, y)
    assert fixed.converged_ and not caught


def test_a_learning_rate_too_small_is_named(statsmodels_sets):
    X, y = statsmodels_sets["fair"]
    model, caught = quiet_fit(GDRegressor(lr=1e-5, momentum=0.0, epochs=50), X, y)
    assert model.verdict_.reason == "lr-too-small"
    assert "lr='auto'" in str(caught[0].message)


def test_a_minibatch_noise_floor_is_named(statsmodels_sets):
    X, y = statsmodels_sets["fair"]
    model, caught = quiet_fit(GDRegressor(lr=0.05, batch_size=32, epochs=20, seed=1), X, y)
    assert model.verdict_.reason == "noise-floor"
    message = str(caught[0].message)
    assert "batch_size" in message and "schedule" in message


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_minibatch_auto_lr_ends_near_the_optimum_and_below_its_start(statsmodels_sets, seed):
    # fair, standardized, batch 32: a constant 1/L_b used to end above the start (4.854 -> 6.48) with a gap up to 1.3
    X, y = statsmodels_sets["fair"]
    model, caught = quiet_fit(GDRegressor(batch_size=32, seed=seed), X, y)
    assert model.schedule_ == "cosine" and model.n_iter_ == 100
    loss = model.history_.loss
    assert loss[-1] < loss[0] and loss[-1] - model.exact_.objective < 1e-3 * model.exact_.objective
    assert model.gap_.param_distance < 0.01
    # it did not reach 1e-6, and says so: the noise of minibatches
    assert not model.converged_ and model.verdict_.reason == "noise-floor" and len(caught) == 1


def test_default_cli_fit_reaches_the_optimum_and_strict_agrees(statsmodels_sets, tmp_path):
    from typer.testing import CliRunner

    from gradfit.cli import app

    X, y = statsmodels_sets["longley"]
    data = X.assign(TOTEMP=y)
    data.to_csv(tmp_path / "longley.csv", index=False)
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "longley.csv"), "-t", "TOTEMP", "--strict", "--json",
                                      "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    summary = __import__("json").loads(result.stdout)
    assert summary["converged"] and summary["gap"]["param_distance"] <= 1e-6
    assert summary["verdict"]["reason"] == "at-optimum"


def test_summary_of_a_fit_short_of_the_optimum_is_at_the_exact_answer(statsmodels_sets):
    # stackloss at the optimum: AIRFLOW p = 5.8e-05 (statsmodels); the raw descent stops far from it
    X, y = statsmodels_sets["stackloss"]
    model, _ = quiet_fit(GDRegressor(preprocess="none", epochs=100), X, y)
    assert not model.converged_
    table = model.summary()
    airflow = next(c for c in table.coefficients if c.name == "AIRFLOW")
    assert airflow.p_value == pytest.approx(5.8e-05, rel=0.05)
    assert "exact" in str(table).lower()


def test_a_saved_fit_continues_with_the_steps_auto_chose(statsmodels_sets, tmp_path):
    # lr, momentum and epochs chosen by 'auto' are kept in the model file, so the heavy ball goes on exactly
    from gradfit import load_model

    X, y = statsmodels_sets["longley"]
    whole = GDRegressor(epochs=30, tol=None).fit(X, y)
    first = GDRegressor(epochs=12, tol=None).fit(X, y)
    first.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert (loaded.lr_, loaded.momentum_, loaded.schedule_) == (first.lr_, first.momentum_, "constant")
    assert loaded.verdict_ == first.verdict_ and loaded.gap_ == first.gap_
    loaded.set_params(warm_start=True, epochs=18)
    loaded.fit(X, y)
    assert loaded.n_iter_ == 30 and loaded.coef_.tolist() == whole.coef_.tolist()
    assert loaded.history_.loss == whole.history_.loss

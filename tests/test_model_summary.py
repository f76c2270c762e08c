"""The summary of a fitted model: ``model_summary`` (``GDRegressor.summary``) on the model's own statistics,
at the fit or at the exact answer, and the ``gradfit summary`` command; against statsmodels OLS."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import typer
from typer.testing import CliRunner

from gradfit import GDRegressor, load_model
from gradfit.cli import GradfitGroup
from gradfit.cli.summary import register
from gradfit.errors import ConvergenceWarning, OptionError
from gradfit.inference.stats import model_summary
from gradfit.io.persist import train_metrics

from .helpers import assert_matches_statsmodels, offset_data


def test_model_summary_gathers_statistics_when_the_model_has_none():
    X, y = offset_data(n=60, seed=3)
    model = GDRegressor(lr="auto", preprocess="standardize", epochs=500).fit(X, y)
    kept = model_summary(model)
    model.gram_stats_ = None  # what a model with more features than its file keeps statistics for looks like
    with pytest.raises(OptionError, match="the model holds no Gram statistics"):
        model_summary(model)
    again = model_summary(model, X, y)
    np.testing.assert_allclose([c.std_err for c in again.coefficients], [c.std_err for c in kept.coefficients],
                               rtol=1e-10)


def stackloss():
    data = sm.datasets.stackloss.load_pandas().data
    return data[["AIRFLOW", "WATERTEMP", "ACIDCONC"]], data["STACKLOSS"]


def test_summary_of_an_unconverged_fit_is_at_the_exact_answer_and_says_so():
    X, y = stackloss()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the fit's own verdict
        model = GDRegressor(epochs=3, preprocess="none").fit(X, y)
    assert model.gap_.param_distance > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid statistics: nothing to warn about
        s = model.summary()
    res = sm.OLS(y, sm.add_constant(X)).fit()
    assert_matches_statsmodels(s, res)
    assert s.coefficients[1].p_value == pytest.approx(5.8e-05, rel=0.02)
    assert s.at == "exact" and "exact least-squares answer" in s.to_text().splitlines()[0]
    assert any("not the fitted parameters" in note for note in s.notes)
    with pytest.warns(ConvergenceWarning, match="assume the optimum"):
        at_fit = model_summary(model, at="fit")  # GDRegressor.summary(at=...) passes it through
    assert at_fit.at == "fit" and at_fit.coefficients[1].coef == pytest.approx(model.coef_[0])
    assert at_fit.coefficients[1].p_value > 0.01 and "fitted parameters" in at_fit.to_text().splitlines()[0]


def test_summary_of_a_converged_fit_is_at_the_fit():
    X, y = offset_data(n=60, seed=3)
    model = GDRegressor(lr="auto", preprocess="standardize", momentum=0.9, epochs=3000).fit(X, y)
    assert model.gap_.param_distance < 1e-6
    s = model.summary()
    assert s.at == "fit" and s.coefficients[1].coef == model.coef_[0]


def test_summary_at_an_unknown_point_is_an_option_error():
    X, y = offset_data(n=60, seed=3)
    model = GDRegressor(epochs=3).fit(X, y)
    with pytest.raises(OptionError, match=r"option at='best' is not one of \['exact', 'fit'\]"):
        model_summary(model, at="best")


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli(tmp_path):
    """a Typer app holding only the summary command, a saved model and its training data"""
    app = typer.Typer(cls=GradfitGroup)  # the gradfit app's error handling: one line, exit status 2
    register(app)
    app.callback()(lambda: None)  # keep "summary" a subcommand, as in the gradfit app
    X, y = offset_data(n=60, seed=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = GDRegressor(lr="auto", preprocess="standardize", epochs=500).fit(frame, y)
    model.save(tmp_path / "model.json")
    frame.assign(target=y).to_csv(tmp_path / "data.csv", index=False)
    return app, tmp_path, model


def invoke(app, *args):
    return CliRunner().invoke(app, ["summary", *map(str, args)])


def test_cli_prints_the_table(cli):
    app, path, model = cli
    result = invoke(app, path / "model.json")
    assert result.exit_code == 0, result.output
    assert "R-squared:" in result.stdout and "P>|t|" in result.stdout
    assert f"{model.intercept_:.4f}" in result.stdout


def test_cli_json_parses(cli):
    app, path, model = cli
    result = invoke(app, path / "model.json", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc["coefficients"]] == ["const", "a", "b", "c", "d"]
    np.testing.assert_allclose([c["coef"] for c in doc["coefficients"][1:]], model.coef_, rtol=1e-15)


def test_cli_robust_covariance_reads_the_data(cli):
    app, path, model = cli
    result = invoke(app, path / "model.json", "--data", path / "data.csv", "--target", "target",
                    "--cov-type", "HC1", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cov_type"] == "HC1" and all(c["std_err"] > 0 for c in doc["coefficients"])


@pytest.mark.parametrize("args, message", [
    (("--cov-type", "HC9"), "error: option cov_type='HC9' is not one of"),
    (("--cov-type", "HC2"), "error: option cov_type='HC2' needs the training data"),
    (("--data", "data.csv"), "error: option --data needs --target"),
])
def test_cli_errors_exit_2_with_one_line(cli, args, message):
    app, path, _ = cli
    args = [path / a if a == "data.csv" else a for a in args]
    result = invoke(app, path / "model.json", *args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_cli_warns_about_an_unconverged_model(cli, tmp_path):
    app, path, _ = cli
    X, y = offset_data(n=60, seed=3)
    GDRegressor(lr="auto", preprocess="standardize", epochs=2).fit(X, y).save(tmp_path / "early.json")
    result = invoke(app, tmp_path / "early.json", "--at", "fit")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: The fit is ") and "assume the optimum" in result.stderr
    assert "Dist. to optimum:" in result.stdout


def test_near_perfect_fit_uses_the_measured_rss(tmp_path):
    """RSS* measured from residuals by the solver travels with the model (and its file)"""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 100.0] + [5.0, -50.0, 300.0]
    y = X @ [2.0, -0.5, 0.03] + 7.0 + 1e-6 * rng.normal(size=200)
    model = GDRegressor(preprocess="standardize", momentum=0.9, epochs=3000).fit(X, y)
    direct = float(np.sum((y - X @ model.coef_ - model.intercept_) ** 2))
    assert model.gram_stats_.rss_min is not None
    assert model.summary().ssr == pytest.approx(direct, rel=1e-6)
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert loaded.summary().ssr == pytest.approx(direct, rel=1e-6)
    assert train_metrics(loaded)["mse"] == pytest.approx(direct / 200, rel=1e-6)



def test_cli_summary_at_the_fit_keeps_the_old_report(cli, tmp_path):
    app, path, _ = cli
    X, y = stackloss()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GDRegressor(epochs=3, preprocess="none").fit(X, y).save(tmp_path / "early.json")
    exact = invoke(app, tmp_path / "early.json", "--json")
    assert exact.exit_code == 0, exact.output
    doc = json.loads(exact.stdout)
    assert doc["at"] == "exact" and doc["coefficients"][1]["p_value"] == pytest.approx(5.8e-05, rel=0.02)
    fitted = invoke(app, tmp_path / "early.json", "--at", "fit")
    assert fitted.exit_code == 0 and "assume the optimum" in fitted.stderr

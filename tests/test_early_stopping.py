"""Early stopping on held-out data: the seeded split, the validation loss, the best epoch, files, plots, CLI.

References: the validation loss is recomputed with NumPy from the recorded parameters (1e-12
relative); the split's training rows are checked against NumPy's least squares on those rows
(the exact answer, 1e-8); engines are compared with the NumPy engine at 1e-9 relative.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gradfit import GDRegressor, NotAtOptimumWarning, fit, load_model
from gradfit.cli import app
from gradfit.training.config import FitConfig
from gradfit.errors import DataError, OptionError
from gradfit.views.plots import figure_bytes, learning_curve
from gradfit.training.validation import split_rows

from .helpers import assert_same_history, uncentered_data

#: overfitting by plain gradient descent: 75 training rows for 60 features, 3 of which matter
SETTINGS = dict(early_stopping=True, validation_fraction=0.25, n_iter_no_change=20, lr=0.02, momentum=0.0,
                epochs=2000, seed=0)


def overfit_data(n=100, d=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[:3] = [2.0, -1.0, 1.5]
    return X, X @ w + 0.7 + 1.5 * rng.normal(size=n)


def mse_at(X, y, coef, intercept) -> float:
    return float(np.mean((X @ np.asarray(coef) + intercept - y) ** 2))


def test_the_split_is_seeded_and_partitions_the_rows():
    split = split_rows(101, 0.1, seed=7)
    assert len(split.val) == 11 and len(split.train) == 90  # ceil(0.1·101), as scikit-learn's train_test_split
    assert np.array_equal(np.sort(np.concatenate(split)), np.arange(101))
    assert np.all(np.diff(split.train) > 0) and np.all(np.diff(split.val) > 0)
    again = split_rows(101, 0.1, seed=7)
    assert np.array_equal(split.val, again.val) and np.array_equal(split.train, again.train)
    assert not np.array_equal(split.val, split_rows(101, 0.1, seed=8).val)


def test_early_stopping_holds_out_the_seeded_rows_and_trains_on_the_others():
    X, y = overfit_data()
    model = GDRegressor(**SETTINGS).fit(X, y)
    split = split_rows(len(y), 0.25, seed=0)
    assert model.held_out_.n_rows == 25 and model.gram_stats_.n == 75
    # the exact answer is least squares on the training rows alone
    design = np.column_stack([X[split.train], np.ones(75)])
    reference = np.linalg.lstsq(design, y[split.train], rcond=None)[0]
    np.testing.assert_allclose(model.exact_.coef, reference[:-1], rtol=1e-8, atol=1e-8)
    # every recorded validation loss is the held-out rows' mean squared error at the recorded parameters
    recomputed = [mse_at(X[split.val], y[split.val], e.coef, e.intercept) for e in model.history_]
    np.testing.assert_allclose(model.history_.val_loss, recomputed, rtol=1e-12)
    # the same seed holds out the same rows: the same fit
    assert_same_history(model.history_, GDRegressor(**SETTINGS).fit(X, y).history_, rtol=0)


def test_the_fit_returns_the_best_epoch_and_keeps_the_last_one():
    X, y = overfit_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotAtOptimumWarning)  # stopping on purpose is not a warning
        model = GDRegressor(**SETTINGS).fit(X, y)
    h = model.history_
    best = int(np.argmin(h.val_loss))
    assert h.epoch == list(range(len(h)))  # record_every=1: entry k is epoch k
    assert model.best_epoch_ == best and model.best_val_loss_ == h.val_loss[best]
    assert 0 < best < model.n_iter_ - 1 and h.val_loss[-1] > h.val_loss[best]  # it overfits after the best epoch
    np.testing.assert_array_equal(model.coef_, h.coef[best])
    assert model.intercept_ == h.intercept[best]
    np.testing.assert_array_equal(model.last_coef_, h.coef[-1])
    assert model.last_intercept_ == h.intercept[-1]
    # stopped by the held-out rule: n_iter_no_change epochs without a better validation loss
    assert model.result_.outcome.stopped_by == "validation" and model.n_iter_ == best + 20
    np.testing.assert_allclose(model.predict(X), X @ h.coef[best] + h.intercept[best], rtol=1e-12)


def test_the_verdict_says_early_stopping_kept_the_fit_short_on_purpose():
    X, y = overfit_data()
    model = GDRegressor(**SETTINGS).fit(X, y)
    verdict = model.verdict_
    assert not model.converged_ and verdict.reason == "early-stopped"
    assert f"early stopping returned epoch {model.best_epoch_}'s parameters" in verdict.message
    assert "failed to improve for 20 epochs" in verdict.message and "too few" not in str(verdict)
    assert "early_stopping=False" in verdict.remedy
    # the gap is that of the returned parameters, on the training objective
    assert verdict.distance == pytest.approx(model.gap_.distance) and model.gap_.distance > 0.01
    assert model.gap_.objective == pytest.approx(model.history_.loss[model.best_epoch_], rel=1e-12)


def test_the_training_optimum_still_stops_the_fit():
    X, y = uncentered_data(n=200, d=3, noise=0.0)  # no noise: the held-out rows fit best at the optimum
    model = GDRegressor(early_stopping=True, seed=0).fit(X, y)
    assert model.converged_ and model.verdict_.reason == "at-optimum"
    assert model.best_epoch_ == model.n_iter_ and model.result_.outcome.stopped_by == "tol"
    X, y = uncentered_data(n=200, d=3)
    X_val, y_val = uncentered_data(n=50, d=3, seed=1)  # held-out rows of a flatter line: best before the optimum
    model = GDRegressor(early_stopping=True, seed=0, n_iter_no_change=100).fit(X, y, validation_data=(X_val,
                                                                                                      0.8 * y_val))
    assert model.result_.outcome.stopped_by == "tol" and model.best_epoch_ < model.n_iter_
    assert model.verdict_.reason == "early-stopped" and "went on to the training optimum" in model.verdict_.message


def test_early_stopping_takes_plain_steps_and_may_stop_where_the_loss_is_lowest():
    from gradfit import load_diabetes

    data = load_diabetes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotAtOptimumWarning)
        model = GDRegressor(early_stopping=True, validation_fraction=0.2, n_iter_no_change=10, seed=0).fit(
            data.X, data.y)
    # no heavy ball: its objective first swings up, which the held-out rule would take for overfitting
    assert model.momentum_ == 0.0 and GDRegressor(seed=0).fit(data.X, data.y).momentum_ > 0.0
    assert np.all(np.diff(model.history_.loss) < 0)
    # the validation loss still fell, by less than tol: stopped at its lowest, on purpose
    assert model.best_epoch_ == model.n_iter_ and model.result_.outcome.stopped_by == "validation"
    assert model.verdict_.reason == "early-stopped" and "fell by less than tol=1e-06" in model.verdict_.message


def test_validation_data_is_recorded_and_only_stops_with_early_stopping():
    X, y = overfit_data()
    X_val, y_val = overfit_data(n=50, seed=1)
    settings = {**SETTINGS, "early_stopping": False, "epochs": 150}
    model = GDRegressor(**settings).fit(X, y, validation_data=(X_val, y_val))
    assert model.n_iter_ == 150 and model.gram_stats_.n == 100  # nothing held out of the training rows
    np.testing.assert_allclose(model.history_.val_loss, [mse_at(X_val, y_val, e.coef, e.intercept)
                                                         for e in model.history_], rtol=1e-12)
    np.testing.assert_array_equal(model.coef_, model.history_.coef[-1])  # monitored only: the last parameters
    assert model.best_epoch_ == int(np.argmin(model.history_.val_loss)) and not model.held_out_.restored
    stopped = GDRegressor(**{**settings, "early_stopping": True}).fit(X, y, validation_data=(X_val, y_val))
    assert stopped.n_iter_ < 150 and stopped.held_out_.n_rows == 50
    np.testing.assert_array_equal(stopped.coef_, stopped.history_.coef[stopped.best_epoch_])


@pytest.mark.parametrize("loss", ["huber", "quantile"])
def test_the_validation_loss_is_the_training_loss_without_the_penalty(loss):
    X, y = uncentered_data(n=60)
    X_val, y_val = uncentered_data(n=30, seed=1)
    model = GDRegressor(loss=loss, alpha=0.1, l1_ratio=1.0 if loss == "quantile" else 0.0, epochs=20,
                        seed=0).fit(X, y, validation_data=(X_val, y_val))
    for e in model.history_:
        r = X_val @ np.asarray(e.coef) + e.intercept - y_val
        if loss == "huber":  # ½r² inside ε = 0.1, ε|r| − ½ε² beyond
            values = np.where(np.abs(r) <= 0.1, 0.5 * r**2, 0.1 * np.abs(r) - 0.005)
        else:  # pinball at τ = 0.5
            values = np.maximum(0.5 * r, -0.5 * r)
        assert e.val_loss == pytest.approx(values.mean(), rel=1e-12)


def test_validation_weights_give_a_weighted_mean():
    X, y = uncentered_data(n=60)
    X_val, y_val = uncentered_data(n=30, seed=1)
    w = np.random.default_rng(2).integers(0, 4, size=30).astype(float)
    model = GDRegressor(epochs=5, seed=0).fit(X, y, validation_data=(X_val, y_val, w))
    repeated = np.repeat(np.arange(30), w.astype(int))  # integer weights are repeated rows
    for e in model.history_:
        assert e.val_loss == pytest.approx(mse_at(X_val[repeated], y_val[repeated], e.coef, e.intercept), rel=1e-12)


def _engines():
    engines = ["python", "numpy"]
    for name, module in (("torch", "torch"), ("dask", "distributed")):
        try:
            __import__(module)
            engines.append(name)
        except ImportError:
            pass
    return engines


@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("engine", [e for e in _engines() if e != "numpy"])
def test_every_engine_holds_out_the_same_rows_and_stops_at_the_same_epoch(engine, batch_size, request):
    X, y = overfit_data(n=60, d=30)
    config = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5, lr=0.01, momentum=0.0,
                  epochs=60, seed=3, batch_size=batch_size, gram=False)
    reference = fit(X, y, FitConfig(**config))
    data = (X, y)
    if engine == "dask":
        import dask.array as da

        request.getfixturevalue("client")  # the shared cluster (conftest.py)
        data = (da.from_array(X, chunks=(17, -1)), da.from_array(y, chunks=17))
    result = fit(*data, FitConfig(**{**config, "engine": engine}))
    assert_same_history(reference.history, result.history, fields=("loss", "coef", "intercept", "val_loss"))
    assert result.held_out.best.epoch == reference.held_out.best.epoch
    assert result.outcome.stopped_by == reference.outcome.stopped_by
    np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-9)


def test_model_files_keep_the_held_out_results_and_resume_exactly(tmp_path):
    X, y = overfit_data()
    whole = GDRegressor(**SETTINGS).fit(X, y)

    def stop_at_40(info):
        return info.epoch == 40

    part = GDRegressor(**SETTINGS, callbacks=[stop_at_40]).fit(X, y)
    part.save(tmp_path / "part.json")
    loaded = load_model(tmp_path / "part.json")
    assert loaded.best_epoch_ == part.best_epoch_ and loaded.history_.val_loss == part.history_.val_loss
    np.testing.assert_array_equal(loaded.last_coef_, part.last_coef_)
    loaded.resume(X, y)
    assert loaded.n_iter_ == whole.n_iter_ and loaded.best_epoch_ == whole.best_epoch_
    assert_same_history(whole.history_, loaded.history_, rtol=1e-15,
                        fields=("loss", "coef", "intercept", "grad_norm", "lr", "val_loss"))
    np.testing.assert_array_equal(loaded.coef_, whole.coef_)
    loaded.save(tmp_path / "again.json")
    doc = json.loads((tmp_path / "again.json").read_text())
    assert doc["held_out"]["best"]["epoch"] == whole.best_epoch_ and len(doc["history"]["val_loss"]) == len(
        doc["history"]["loss"])


def test_a_model_file_without_held_out_data_loads_as_before(tmp_path):
    X, y = uncentered_data()
    GDRegressor(epochs=5).fit(X, y).save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert "val_loss" not in doc["history"] and doc["held_out"] is None
    # a file written before held-out data existed: no held_out field, no early-stopping settings
    for key in ("held_out",):
        del doc[key]
    for key in ("early_stopping", "validation_fraction"):
        del doc["params"][key]
    for key in ("val_best", "val_no_improve"):
        del doc["descent"][key]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = load_model(tmp_path / "old.json")
    assert old.best_epoch_ is None and old.history_.val_loss == [None] * len(old.history_)
    np.testing.assert_array_equal(old.last_coef_, old.coef_)
    assert "val_loss" not in old.history_.to_dataframe().columns
    old.resume(X, y)  # nothing to do, and nothing breaks


def test_held_out_errors_are_one_line():
    X, y = uncentered_data(n=10)
    with pytest.raises(OptionError, match=r"option validation_fraction=1\.5 must be a number in \(0, 1\)"):
        GDRegressor(early_stopping=True, validation_fraction=1.5).fit(X, y)
    with pytest.raises(OptionError, match=r"validation_fraction=0\.9 leaves 1 of the 10 rows for training"):
        GDRegressor(early_stopping=True, validation_fraction=0.9).fit(X, y)
    with pytest.raises(OptionError, match=r"option early_stopping='yes' must be True or False"):
        GDRegressor(early_stopping="yes").fit(X, y)
    with pytest.raises(DataError, match=r"validation_data: X_val has 2 features but the training data has 3"):
        GDRegressor().fit(X, y, validation_data=(X[:, :2], y))
    with pytest.raises(DataError, match=r"validation_data: X_val has 10 rows but y_val has 9"):
        GDRegressor().fit(X, y, validation_data=(X, y[:9]))
    with pytest.raises(DataError, match=r"validation_data: y_val has a missing or infinite value at row index 4"):
        GDRegressor().fit(X, y, validation_data=(X, np.where(np.arange(10) == 4, np.nan, y)))
    bad = X.copy()
    bad[2, 1] = np.inf
    with pytest.raises(DataError, match=r"validation_data X_val: column 'x1' has an infinite value \(inf\) at row index 2"):
        GDRegressor().fit(X, y, validation_data=(bad, y))
    with pytest.raises(OptionError, match=r"option validation_data must be a pair \(X_val, y_val\)"):
        GDRegressor().fit(X, y, validation_data=X)
    with pytest.raises(DataError, match=r"validation_data: sample_weight_val must be >= 0"):
        GDRegressor().fit(X, y, validation_data=(X, y, -np.ones(10)))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(DataError, match=r"validation_data: X_val has no column 'c' \(the training data's columns"):
        GDRegressor().fit(frame, y, validation_data=(frame.rename(columns={"c": "d"}), y))


def test_validation_columns_are_matched_by_name():
    X, y = uncentered_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    X_val, y_val = uncentered_data(n=20, seed=1)
    val = pd.DataFrame(X_val, columns=["a", "b", "c"])
    model = GDRegressor(epochs=5).fit(frame, y, validation_data=(val[["c", "a", "b"]], y_val))
    assert model.history_.val_loss == GDRegressor(epochs=5).fit(frame, y, validation_data=(val, y_val)).history_.val_loss


def test_the_learning_curve_draws_the_validation_loss_and_the_best_epoch(tmp_path):
    X, y = overfit_data()
    model = GDRegressor(**SETTINGS).fit(X, y)
    ax = learning_curve(model, log=True)
    val = [line for line in ax.lines if line.get_gid() == "val_loss"]
    best = [line for line in ax.lines if line.get_gid() == "best_epoch"]
    assert len(val) == 1 and len(best) == 1
    np.testing.assert_allclose(val[0].get_ydata(), model.history_.val_loss)
    assert best[0].get_xdata()[0] == model.best_epoch_ and best[0].get_ydata()[0] == model.best_val_loss_
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.endswith("(validation)") for label in labels)
    assert f"lowest validation loss (epoch {model.best_epoch_}, returned)" in labels
    png = figure_bytes(ax)
    (tmp_path / "learning-curve.png").write_bytes(png)
    assert png.startswith(b"\x89PNG")
    assert not [line for line in learning_curve(model, gap=True, log=True).lines if line.get_gid() == "val_loss"]


def _csv(path, X, y):
    pd.DataFrame(np.column_stack([X, y]), columns=[*(f"f{j}" for j in range(X.shape[1])), "y"]).to_csv(
        path, index=False)


def test_the_cli_holds_out_rows_and_exports_the_validation_loss(tmp_path):
    X, y = overfit_data()
    _csv(tmp_path / "d.csv", X, y)
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--early-stopping",
                                      "--validation-fraction", "0.25", "--n-iter-no-change", "20", "--lr", "0.02",
                                      "--momentum", "0", "--epochs", "2000", "--seed", "0", "--json", "--strict",
                                      "-o", str(tmp_path / "m.json"), "--history", str(tmp_path / "h.csv")])
    assert result.exit_code == 0, result.output  # --strict passes a fit stopped early on purpose
    summary = json.loads(result.stdout)
    reference = GDRegressor(**SETTINGS).fit(pd.read_csv(tmp_path / "d.csv").drop(columns="y"), y)
    assert summary["held_out"]["best_epoch"] == reference.best_epoch_ and summary["held_out"]["rows"] == 25
    assert summary["verdict"]["reason"] == "early-stopped"
    history = pd.read_csv(tmp_path / "h.csv")
    assert list(history.columns[:4]) == ["epoch", "step", "loss", "val_loss"]
    np.testing.assert_allclose(history["val_loss"], reference.history_.val_loss, rtol=1e-12)
    assert load_model(tmp_path / "m.json").best_epoch_ == reference.best_epoch_


def test_the_cli_takes_a_validation_file(tmp_path):
    X, y = overfit_data()
    X_val, y_val = overfit_data(n=40, seed=1)
    _csv(tmp_path / "d.csv", X, y)
    _csv(tmp_path / "v.csv", X_val, y_val)
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--validation",
                                      str(tmp_path / "v.csv"), "--epochs", "30", "--lr", "0.02", "--momentum", "0",
                                      "-q", "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.json")
    assert model.n_iter_ == 30 and model.held_out_.n_rows == 40 and not model.held_out_.restored
    np.testing.assert_allclose(model.history_.val_loss, [mse_at(X_val, y_val, e.coef, e.intercept)
                                                         for e in model.history_], rtol=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--early-stopping", "--validation-fraction", "1.5"],
     "error: option validation_fraction=1.5 must be a number in (0, 1)"),
    (["--early-stopping", "--validation-fraction", "0.95"], "error: option validation_fraction=0.95 leaves"),
    (["--validation-fraction", "0.2"], "error: option --validation-fraction needs --early-stopping"),
    (["--early-stopping", "--n-iter-no-change", "0"], "error: option n_iter_no_change=0 must be an integer >= 1"),
    (["--validation", "{tmp}/missing.csv"], "missing.csv"),
    (["--validation", "{tmp}/v.csv", "--early-stopping", "--validation-fraction", "0.2"],
     "error: options --validation and --validation-fraction both choose the held-out rows"),
    (["--validation", "{tmp}/short.csv"], "short.csv"),
    (["--validation", "{tmp}/d.csv", "--out", "{tmp}/d.csv"], "error: "),
])
def test_cli_held_out_errors_are_one_line(tmp_path, args, message):
    X, y = uncentered_data(n=20)
    _csv(tmp_path / "d.csv", X, y)
    _csv(tmp_path / "v.csv", X, y)
    pd.DataFrame({"f0": [1.0, 2.0], "y": [1.0, 2.0]}).to_csv(tmp_path / "short.csv", index=False)  # lacks f1, f2
    before = (tmp_path / "d.csv").read_text()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "-q", *args,
                                      *(["-o", str(tmp_path / "m.json")] if "--out" not in args else [])])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "m.json").exists() and (tmp_path / "d.csv").read_text() == before


def test_partial_fit_holds_nothing_out():
    X, y = uncentered_data()
    model = GDRegressor(early_stopping=True, seed=0)
    model.partial_fit(X, y)
    model.partial_fit(X, y)
    assert model.gram_stats_.n == len(y) and model.best_epoch_ is None and model.n_iter_ == 2
    assert math.isclose(model.history_.loss[-1], mse_at(X, y, model.coef_, model.intercept_) , rel_tol=1e-9)


def test_the_views_and_the_report_show_the_returned_parameters(tmp_path):
    from gradfit.views.plotdata import view
    from gradfit.views.report import write_report

    X, y = overfit_data()
    model = GDRegressor(**SETTINGS).fit(X, y)
    model.save(tmp_path / "m.json")
    for fitted in (model, load_model(tmp_path / "m.json")):
        fv = view(fitted)
        np.testing.assert_array_equal(fv.coef, model.coef_)
        assert fv.intercept == model.intercept_ and fv.held_out.best.epoch == model.best_epoch_
    write_report(model, X, y, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert f"early stopping returned epoch {model.best_epoch_}&#x27;s parameters on purpose" in html or \
        f"early stopping returned epoch {model.best_epoch_}'s parameters on purpose" in html
    assert "lowest validation loss" in html and "held-out rows" in html


def test_a_validation_file_is_encoded_as_the_training_data(tmp_path):
    rng = np.random.default_rng(0)

    def table(n):
        region = rng.choice(["north", "south", "west"], size=n)
        x = rng.normal(size=n)
        y = 2.0 * x + np.select([region == "south", region == "west"], [1.0, -1.0], 0.0) + 0.1 * rng.normal(size=n)
        return pd.DataFrame({"x": x, "region": region, "y": y})

    table(60).to_csv(tmp_path / "d.csv", index=False)
    held = table(20)
    held.to_csv(tmp_path / "v.csv", index=False)
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--categorical", "region",
                                      "--validation", str(tmp_path / "v.csv"), "--epochs", "20", "-q",
                                      "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.json")
    X_val = model.encoding_.transform(held[["x", "region"]], "v.csv")  # the model's own encoding of the raw rows
    np.testing.assert_allclose(model.history_.val_loss, [mse_at(X_val, held["y"].to_numpy(), e.coef, e.intercept)
                                                         for e in model.history_], rtol=1e-12)


def test_the_split_carries_the_weights_of_its_rows():
    """the held-out rows keep their weights (the validation loss is their weighted mean) and the training rows
    theirs: the fit equals the same fit on the split rows with validation_data (1e-12), and the exact answer is
    weighted least squares on the training rows (1e-8)"""
    X, y = overfit_data()
    w = np.random.default_rng(3).integers(1, 5, size=len(y)).astype(float)  # 75 training rows, 61 parameters
    split = split_rows(len(y), 0.25, seed=0)
    model = GDRegressor(**SETTINGS).fit(X, y, sample_weight=w)
    explicit = GDRegressor(**{**SETTINGS, "early_stopping": True}).fit(
        X[split.train], y[split.train], sample_weight=w[split.train],
        validation_data=(X[split.val], y[split.val], w[split.val]))
    assert model.coef_ == pytest.approx(explicit.coef_, rel=1e-12, abs=1e-14)
    r = X[split.val] @ model.coef_ + model.intercept_ - y[split.val]
    assert model.best_val_loss_ == pytest.approx(np.sum(w[split.val] * r**2) / w[split.val].sum(), rel=1e-12)
    sw = np.sqrt(w[split.train])
    A = np.column_stack([X[split.train], np.ones(len(split.train))]) * sw[:, None]
    beta = np.linalg.lstsq(A, y[split.train] * sw, rcond=None)[0]
    assert np.asarray(model.exact_.coef) == pytest.approx(beta[:-1], rel=1e-8, abs=1e-10)


def test_held_out_rows_that_all_weigh_zero_are_refused():
    X, y = overfit_data()
    w = np.ones(len(y))
    w[split_rows(len(y), 0.25, seed=0).val] = 0.0
    with pytest.raises(OptionError, match=r"^early stopping: every one of the 25 held-out rows has weight 0"):
        GDRegressor(**SETTINGS).fit(X, y, sample_weight=w)


def test_a_validation_file_is_weighted_by_the_same_column(tmp_path):
    X, y = overfit_data()
    X_val, y_val = overfit_data(n=40, seed=1)
    w, w_val = (np.random.default_rng(s).integers(1, 4, size=n).astype(float) for s, n in ((5, 100), (6, 40)))
    for name, (A, b, weights) in {"d.csv": (X, y, w), "v.csv": (X_val, y_val, w_val)}.items():
        frame = pd.DataFrame(A, columns=[f"x{j}" for j in range(A.shape[1])]).assign(y=b, w=weights)
        frame.to_csv(tmp_path / name, index=False)
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--weights", "w", "--validation",
                                      str(tmp_path / "v.csv"), "--epochs", "30", "--lr", "0.02", "--momentum", "0",
                                      "-q", "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.json")
    assert model.n_features_in_ == X.shape[1]  # the weights are not a feature, in either file
    weighted = [float(np.sum(w_val * (X_val @ np.asarray(e.coef) + e.intercept - y_val) ** 2) / w_val.sum())
                for e in model.history_]
    np.testing.assert_allclose(model.history_.val_loss, weighted, rtol=1e-12)

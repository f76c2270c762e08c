"""Held-out rows from the command line: ``gradfit fit --early-stopping`` (the same fit as in Python, its
validation loss in the history file), ``--validation FILE`` (encoded and weighted as the training data),
and each error in one line with exit status 2 and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gradfit import GDRegressor, load_model
from gradfit.cli import app

from .helpers import OVERFIT_SETTINGS, mse_at, overfit_data, uncentered_data


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
    reference = GDRegressor(**OVERFIT_SETTINGS).fit(pd.read_csv(tmp_path / "d.csv").drop(columns="y"), y)
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

"""Watching a fit: callbacks on the estimator, and the CSV log written as the fit goes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from gradfit import GDRegressor, load_model
from gradfit.cli import app
from gradfit.training.callbacks import CSVLogger

from .helpers import uncentered_data, wait_until


def test_callbacks_see_every_epoch_and_can_stop_the_fit():
    X, y = uncentered_data()
    seen = []

    def watch(info):
        seen.append((info.epoch, info.loss, info.history[-1].epoch))
        return info.epoch == 7

    model = GDRegressor(lr=0.01, epochs=50, tol=None, preprocess="none", callbacks=[watch]).fit(X, y)
    assert model.n_iter_ == 7 and [e for e, _, _ in seen] == list(range(1, 8))
    assert all(loss == model.history_.loss[k] for k, (_, loss, _) in enumerate(seen, start=1))
    assert all(last == epoch for epoch, _, last in seen)  # the history already holds the epoch's entry


def test_the_csv_log_equals_the_history(tmp_path):
    X, y = uncentered_data()
    log = tmp_path / "log.csv"
    model = GDRegressor(lr=0.01, epochs=12, tol=None, preprocess="none", record_every=3,
                        callbacks=[CSVLogger(log)]).fit(X, y)
    written = pd.read_csv(log)
    expected = model.history_.to_dataframe()
    assert list(written.columns) == list(expected.columns) and len(written) == len(expected) == 5
    np.testing.assert_allclose(written.drop(columns="time").to_numpy(), expected.drop(columns="time").to_numpy(),
                               rtol=1e-15)
    model.fit(X, y)  # a new fit starts the file afresh
    assert len(pd.read_csv(log)) == 5


def test_a_model_with_callbacks_saves_without_them(tmp_path):
    X, y = uncentered_data()
    model = GDRegressor(epochs=3, callbacks=[CSVLogger(tmp_path / "l.csv")]).fit(X, y)
    model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").callbacks is None


def test_a_killed_fit_leaves_its_log(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5))
    pd.DataFrame(np.column_stack([X, X @ np.arange(5.0)]), columns=[*"abcde", "y"]).to_csv(tmp_path / "d.csv",
                                                                                          index=False)
    exe = Path(sys.executable).parent / "gradfit"
    log = tmp_path / "log.csv"
    proc = subprocess.Popen([str(exe), "fit", str(tmp_path / "d.csv"), "-t", "y", "--batch-size", "1", "--lr", "1e-4",
                             "--engine", "python", "--epochs", "1000", "--log", str(log), "-q",
                             "-o", str(tmp_path / "m.json")])
    try:
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 3)
    finally:
        proc.kill()
        proc.wait()
    rows = pd.read_csv(log)
    assert len(rows) >= 2 and rows["epoch"].tolist() == list(range(len(rows)))
    assert not (tmp_path / "m.json").exists()


def test_log_option_errors_are_one_line(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,4\n3,6.5\n")
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--log", "-"])
    assert result.exit_code == 2 and result.stderr.startswith("error: option --log - : the log goes to a file")
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--log", str(tmp_path / "d.csv")])
    assert result.exit_code == 2 and "--log" in result.stderr and result.stderr.count("\n") == 1
    assert (tmp_path / "d.csv").read_text().startswith("a,y")

"""The gradfit command: fit / predict / evaluate / demo, and one line with exit status 2 for every bad input."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import typer

from gradfit import load_model
from gradfit.cli import COMMANDS, app

from .helpers import gradfit


def test_fit_writes_the_model_and_history_and_shows_the_gap(plane_csv, tmp_path):
    out, history = tmp_path / "m.json", tmp_path / "h.csv"
    result = gradfit("fit", plane_csv, "--target", "y", "--out", out, "--history", history, "--strict")
    assert result.exit_code == 0, result.output
    assert "gap to exact" in result.stdout and "relative parameter distance" in result.stdout
    assert "converged" in result.stdout and "NOT AT THE OPTIMUM" not in result.stdout and result.stderr == ""
    model = load_model(out)
    np.testing.assert_allclose(model.coef_, [2.0, -3.0], atol=0.01)
    frame = pd.read_csv(history)
    assert list(frame.columns[:5]) == ["epoch", "step", "loss", "coef[a]", "coef[b]"]
    assert len(frame) == model.n_iter_ + 1 and model.converged_ and model.gap_.param_distance <= 1e-6


@pytest.mark.parametrize("options", [
    ["--loss", "huber", "--epsilon", "0.5", "--optimizer", "adamw", "--weight-decay", "0.001", "--average", "20",
     "--batch-size", "4", "--epochs", "30"],
    ["--loss", "quantile", "--quantile", "0.25", "--average", "on"],
    ["--loss", "epsilon_insensitive", "--epsilon", "0.2"],
])
def test_robust_losses_adamw_and_averaging_from_the_command_line(options, plane_csv, tmp_path):
    out, report = tmp_path / "m.json", tmp_path / "r.html"
    result = gradfit("fit", plane_csv, "-t", "y", "-o", out, "--report", report, "--json", "--seed", "1", *options)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    model = load_model(out)
    params = model.get_params()
    given = dict(zip(options[::2], options[1::2]))
    assert params["loss"] == given["--loss"]
    for flag, name in (("--epsilon", "epsilon"), ("--quantile", "quantile"), ("--weight-decay", "weight_decay")):
        if flag in given:
            assert params[name] == float(given[flag])
    assert params["average"] == {"20": 20, "on": True}.get(given.get("--average"), False)
    assert summary["exact"]["method"] in ("newton-active-set", "highs-ipm+vertex")
    assert summary["gap"]["param_distance"] == pytest.approx(model.gap_.param_distance)
    assert "squared losses only" in report.read_text()
    assert "squared losses only" in gradfit("summary", out).stdout


def test_fit_json_is_machine_readable(plane_csv, tmp_path):
    result = gradfit("fit", plane_csv, "-t", "y", "--features", "a,b", "--lr", "0.01", "--optimizer", "adam",
                     "--batch-size", "8", "--seed", "4", "--epochs", "5", "-o", tmp_path / "m.json", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary["coef"]) == {"a", "b"} and summary["lr"] == 0.01 and summary["steps"] == 20
    assert summary["gap"]["param_distance"] > 0 and summary["exact"]["method"] == "cholesky"
    assert summary["files"]["model"] == str(tmp_path / "m.json")


def test_every_estimator_setting_reaches_the_model(plane_csv, tmp_path):
    result = gradfit("fit", plane_csv, "-t", "y", "-o", tmp_path / "m.json", "--quiet",
                     "--lr", "0.001", "--optimizer", "sgd", "--momentum", "0.5", "--nesterov", "--betas", "0.8,0.9",
                     "--eps", "1e-6", "--rho", "0.9", "--schedule", "step", "--schedule-option", "step_size=2",
                     "--epochs", "4", "--batch-size", "5", "--no-shuffle", "--preprocess", "center", "--alpha", "0.1",
                     "--l1-ratio", "0.5", "--loss", "half_mse", "--init", "0.5", "--tol", "1e-9",
                     "--n-iter-no-change", "3", "--seed", "7", "--engine", "python", "--optimizer-backend", "gradfit",
                     "--device", "cpu", "--dtype", "float64", "--record-every", "step", "--gram", "off")
    assert result.exit_code == 0 and result.stdout == "", result.output
    params = load_model(tmp_path / "m.json").get_params()
    expected = dict(lr=0.001, momentum=0.5, nesterov=True, betas=(0.8, 0.9), eps=1e-6, rho=0.9, schedule="step",
                    schedule_options={"step_size": 2.0}, epochs=4, batch_size=5, shuffle=False, preprocess="center",
                    alpha=0.1, l1_ratio=0.5, loss="half_mse", init=0.5, tol=1e-9,
                    n_iter_no_change=3, seed=7, engine="python", record_every="step", gram=False)
    assert {k: params[k] for k in expected} == expected


def test_predict_and_evaluate_use_the_saved_model(plane_csv, tmp_path):
    gradfit("fit", plane_csv, "-t", "y", "--epochs", "50", "-o", tmp_path / "m.json", "--quiet")
    model, frame = load_model(tmp_path / "m.json"), pd.read_csv(plane_csv)
    expected = model.predict(frame[["a", "b"]])
    shown = gradfit("predict", tmp_path / "m.json", plane_csv)
    assert shown.exit_code == 0
    np.testing.assert_allclose(pd.read_csv(io.StringIO(shown.stdout))["prediction"], expected, rtol=1e-15)
    assert gradfit("predict", tmp_path / "m.json", plane_csv, "--out", tmp_path / "p.csv").exit_code == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["prediction"], expected, rtol=1e-15)
    scored = json.loads(gradfit("evaluate", tmp_path / "m.json", plane_csv, "-t", "y", "--json").stdout)
    residual = frame["y"] - expected
    assert scored["mse"] == pytest.approx(float(np.mean(residual**2)), rel=1e-12)
    assert scored["mae"] == pytest.approx(float(np.mean(np.abs(residual))), rel=1e-12)
    assert scored["rmse"] == pytest.approx(np.sqrt(scored["mse"]), rel=1e-12) and scored["n_rows"] == 30
    assert scored["r2"] == pytest.approx(model.score(frame[["a", "b"]], frame["y"]), rel=1e-12)


def test_demo_fits_diabetes_and_says_where_its_files_went(tmp_path):
    result = gradfit("demo", "--out-dir", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    for text in ("bmi", "train R²", "gap to exact", "relative parameter distance", "cholesky", "model.json"):
        assert text in result.stdout
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {"model.json", "history.csv", "diabetes.csv"}
    assert load_model(tmp_path / "demo" / "model.json").gap_.param_distance < 1e-5


@pytest.mark.parametrize("command", ["", *["fit", "predict", "evaluate", "demo"]])
def test_help_everywhere_with_examples(command):
    result = gradfit(*([command] if command else []), "--help")
    assert result.exit_code == 0
    assert ("Examples" in result.stdout) if command else ("demo" in result.stdout)


def test_every_listed_module_registers_commands():
    names = set(typer.main.get_command(app).list_commands(None))  # commands load lazily: ask the group
    assert "fit" in COMMANDS and {"fit", "predict", "evaluate", "demo"} <= names


GOOD = "a,b,y\n1,2,3\n2,1,5\n3,5,4\n4,3,9\n"
BAD_FITS = {
    "non-numeric": ("a,b,y\n1,x,3\n2,1,5\n", [], r"d\.csv: column 'b' is not numeric \(row 1 holds 'x'\)"),
    "missing value": ("a,b,y\n1,2,3\n2,,5\n", [], r"d\.csv: column 'b' has a missing value \(NaN\) at row 2"),
    "infinity": ("a,b,y\n1,2,3\n2,inf,5\n", [], r"d\.csv: column 'b' has an infinite value \(inf\) at row 2"),
    "unknown target": (GOOD, ["-t", "price"], r"no target column 'price'; its columns are \['a', 'b', 'y'\]"),
    "unknown feature": (GOOD, ["--features", "a,z"], r"no feature column 'z'; its columns are"),
    "empty file": ("", [], r"d\.csv is empty"),
    "single row": ("a,y\n1,2\n", [], r"d\.csv has a single row \(1 sample\)"),
    "zero variance": ("a,c,y\n1,7,3\n2,7,5\n3,7,4\n", ["--preprocess", "standardize"],
                      r"column 'c' has zero variance; it cannot be standardized"),
    "lr zero": (GOOD, ["--lr", "0"], r"option lr=0\.0 must be a number > 0 or 'auto'"),
    "lr negative": (GOOD, ["--lr", "-0.5"], r"option lr=-0\.5 must be a number > 0 or 'auto'"),
    "lr text": (GOOD, ["--lr", "fast"], r"option lr='fast' must be a number > 0 or 'auto'"),
    "batch too big": (GOOD, ["--batch-size", "10"], r"option batch_size=10 is larger than the data \(4 rows\)"),
    "unknown optimizer": (GOOD, ["--optimizer", "foo"], r"option optimizer='foo' is not one of \['sgd'"),
    "unknown schedule": (GOOD, ["--schedule", "linear"], r"option schedule='linear' is not one of"),
    "bad betas": (GOOD, ["--betas", "0.9"], r"option betas=\(0\.9,\) must be two numbers"),
    "bad quantile": (GOOD, ["--loss", "quantile", "--quantile", "1.5"], r"option quantile=1\.5 must be a number in \(0, 1\)"),
    "bad epsilon": (GOOD, ["--loss", "huber", "--epsilon", "-1"], r"option epsilon=-1\.0 must be a number > 0"),
    "unknown loss": (GOOD, ["--loss", "mae"], r"option loss='mae' is not one of \['mse', 'half_mse', 'huber'"),
    "bad weight decay": (GOOD, ["--optimizer", "adamw", "--weight-decay", "-0.1"],
                         r"option weight_decay=-0\.1 must be a number >= 0"),
    "bad average": (GOOD, ["--average", "sometimes"], r"option average='sometimes' must be True, False or the step"),
    "divergent": (GOOD, ["--lr", "1e6"], r"the fit diverged at epoch 1: .* with lr=1e\+06; a stable learning rate"),
    "missing file": (None, [], r"data file .*d\.csv does not exist"),
    "scheduler without dask": (GOOD, ["--scheduler", "tcp://127.0.0.1:8786"],
                               r"option --scheduler needs --engine dask"),
    "no output folder": (GOOD, ["-o", "nowhere/m.json"],
                         r"option --out nowhere/m\.json: folder nowhere does not exist"),
}


def _assert_one_line_error(result, pattern):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", BAD_FITS)
def test_bad_fit_input_is_one_line_exit_2_and_leaves_no_file(case, write_file, tmp_path, monkeypatch):
    text, options, pattern = BAD_FITS[case]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "d.csv" if text is None else write_file("d.csv", text)
    target = [] if "-t" in options else ["-t", "y"]
    result = gradfit("fit", path, *target, "--history", "h.csv", *options)
    _assert_one_line_error(result, pattern)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if text is None else ["d.csv"])


@pytest.mark.parametrize("text, pattern", [
    ('{"format": "something-else"}', r"model file .*m\.json: field 'format' is 'something-else'"),
    ("not json at all", r"model file .*m\.json is not JSON"),
    (None, r"model file .*m\.json does not exist"),
])
def test_malformed_model_file_for_predict(text, pattern, write_file, plane_csv, tmp_path):
    model = tmp_path / "m.json" if text is None else write_file("m.json", text)
    result = gradfit("predict", model, plane_csv, "--out", tmp_path / "p.csv")
    _assert_one_line_error(result, pattern)
    assert not (tmp_path / "p.csv").exists()


def test_predict_names_missing_feature_columns(plane_csv, write_file, tmp_path):
    gradfit("fit", plane_csv, "-t", "y", "--epochs", "2", "-o", tmp_path / "m.json", "--quiet")
    result = gradfit("predict", tmp_path / "m.json", write_file("new.csv", "a,c\n1,2\n"))
    _assert_one_line_error(result, r"new\.csv has no feature column 'b'")


def test_convergence_warning_is_one_line(plane_csv, tmp_path):
    result = gradfit("fit", plane_csv, "-t", "y", "--epochs", "2", "--tol", "1e-12", "-q", "-o", tmp_path / "m.json")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: the fit ended at a relative distance of") and "epochs=" in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_verdict_is_printed_and_strict_exits_3(plane_csv, tmp_path):
    out = tmp_path / "m.json"
    result = gradfit("fit", plane_csv, "-t", "y", "--epochs", "2", "--strict", "-o", out)
    assert result.exit_code == 3 and out.exists()  # the outputs are written all the same
    assert "NOT AT THE OPTIMUM" in result.stdout and "more epochs would reach tol" in result.stdout
    shown = gradfit("fit", plane_csv, "-t", "y", "--epochs", "2", "-o", out, "--json")
    verdict = json.loads(shown.stdout)["verdict"]
    assert shown.exit_code == 0 and not verdict["converged"] and verdict["reason"] == "too-few-epochs"
    assert verdict["epochs_needed"] > 2


def test_no_intercept_with_centering_is_refused(plane_csv, tmp_path):
    result = gradfit("fit", plane_csv, "-t", "y", "--no-intercept", "--preprocess", "center", "-o", tmp_path / "m.json")
    assert result.exit_code == 2 and not (tmp_path / "m.json").exists()
    assert result.stderr == ("error: option preprocess='center' needs fit_intercept=True: centering fits an "
                             "intercept; use preprocess='standardize' (which only scales without an intercept) "
                             "or 'none'\n")


def test_ctrl_c_exits_130(plane_csv, tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("gradfit.io.model_reader.read_document", interrupted)
    result = gradfit("predict", tmp_path / "m.json", plane_csv)
    assert result.exit_code == 130 and result.stderr == "interrupted; nothing was written\n"


def test_fit_writes_plots_and_report_on_request(plane_csv, tmp_path):
    plots, report = tmp_path / "plots", tmp_path / "r.html"
    result = gradfit("fit", plane_csv, "-t", "y", "--epochs", "50", "-o", tmp_path / "m.json",
                     "--plots", plots, "--report", report, "--json")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert files["plots"] == str(plots) and files["report"] == str(report)
    written = sorted(p.name for p in plots.glob("*.png"))
    assert "learning_curve.png" in written and "residuals.png" in written
    assert all((plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in written)
    html = report.read_text()
    assert "Gap to the exact solution" in html and "data:image/png;base64," in html


def test_report_folder_checked_before_fitting(plane_csv, tmp_path):
    result = gradfit("fit", plane_csv, "-t", "y", "-o", tmp_path / "m.json", "--report", tmp_path / "no" / "r.html")
    assert result.exit_code == 2 and "option --report" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_all_command_groups_are_registered():
    assert set(COMMANDS) >= {"fit", "summary", "plot", "report", "graph"}
    result = gradfit("--help")
    for command in ("fit", "predict", "evaluate", "demo", "summary", "plot", "report", "graph"):
        assert command in result.stdout


def test_summary_of_a_fitted_model_file(plane_csv, tmp_path):
    gradfit("fit", plane_csv, "-t", "y", "--preprocess", "standardize", "--momentum", "0.9", "--epochs", "400",
            "-o", tmp_path / "m.json", "--quiet")
    result = gradfit("summary", tmp_path / "m.json", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["nobs"] == 30 and figures["rsquared"] > 0.999


"""``gradfit evaluate``: weighted metrics (--weights) and svmlight/libsvm test files.

References: scikit-learn's metrics with ``sample_weight`` on the saved model's own predictions (1e-12
relative), and the one-line refusals (exit 2) that ``fit --weights`` gives for the same columns.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score, root_mean_squared_error

from gradfit import load_model

from .helpers import gradfit, one_line_error

TOL = 1e-12


@pytest.fixture
def weighted(tmp_path):
    """a model fitted on a, b (no weights) and a test file with a weights column w (some 0) and a text column"""
    rng = np.random.default_rng(5)
    n = 50
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(2.0, 1.0, size=n)})
    frame["y"] = 1.5 * frame.a - 0.5 * frame.b + 0.3 + rng.normal(0.0, 0.4, size=n)
    frame["w"] = rng.integers(0, 4, size=n).astype(float)
    frame["note"] = "row"
    data = tmp_path / "test.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.json"
    assert gradfit("fit", data, "-t", "y", "-f", "a,b", "--seed", "0", "-o", model, "-q").exit_code == 0
    return model, data, frame


def reference(y, predictions, w) -> dict:
    return {"r2": r2_score(y, predictions, sample_weight=w), "mse": mean_squared_error(y, predictions, sample_weight=w),
            "rmse": root_mean_squared_error(y, predictions, sample_weight=w),
            "mae": mean_absolute_error(y, predictions, sample_weight=w)}


def test_weighted_metrics_are_sklearns_with_sample_weight(weighted):
    model, data, frame = weighted
    result = gradfit("evaluate", model, data, "-t", "y", "--weights", "w", "--json")
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    predictions = load_model(model).predict(frame[["a", "b"]])
    expected = reference(frame.y, predictions, frame.w)
    for name, value in expected.items():
        assert scored[name] == pytest.approx(value, rel=TOL, abs=TOL), name
    assert scored["n_rows"] == len(frame) and scored["weights"] == "w"
    unweighted = json.loads(gradfit("evaluate", model, data, "-t", "y", "--json").stdout)
    assert unweighted["weights"] is None and unweighted["mse"] != pytest.approx(scored["mse"], rel=1e-3)


def test_the_table_says_the_rows_are_weighted(weighted):
    model, data, _ = weighted
    result = gradfit("evaluate", model, data, "-t", "y", "--weights", "w")
    assert result.exit_code == 0, result.output
    assert "weighted by 'w'" in result.stdout and "RMSE" in result.stdout


def test_a_model_fitted_without_names_leaves_the_weights_column_out_of_its_features(tmp_path):
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(30, 2)), rng.normal(size=30), rng.uniform(0.5, 2.0, size=30)
    from gradfit import GDRegressor

    model = GDRegressor(seed=0, verbose=False).fit(X, y)
    model.save(tmp_path / "m.json")
    data = tmp_path / "d.csv"
    pd.DataFrame({"p": X[:, 0], "w": w, "q": X[:, 1], "y": y}).to_csv(data, index=False)
    scored = json.loads(gradfit("evaluate", tmp_path / "m.json", data, "-t", "y", "--weights", "w", "--json").stdout)
    assert scored["mse"] == pytest.approx(mean_squared_error(y, model.predict(X), sample_weight=w), rel=TOL)


@pytest.mark.parametrize("change, args, message", [
    (None, ["--weights", "nope"], r"data file .*test\.csv has no weights column 'nope' \(option --weights\); "
                                  r"its columns are"),
    (None, ["--weights", "y"], r"option --weights names the target column 'y'"),
    (("w", 4, -2.0), ["--weights", "w"], r"weights column 'w' row 5 is -2: weights must be >= 0"),
    (("w", 7, np.nan), ["--weights", "w"], r"test\.csv: column 'w' has a missing value \(NaN\) at row 8"),
    (("w", slice(None), 0.0), ["--weights", "w"], r"weights column 'w' is all zeros: at least one row needs a "
                                                  r"positive weight"),
])
def test_unusable_weights_columns_are_one_line_with_status_2(weighted, change, args, message):
    model, data, frame = weighted
    if change is not None:
        column, rows, value = change
        frame.loc[rows, column] = value
        frame.to_csv(data, index=False)
    one_line_error(gradfit("evaluate", model, data, "-t", "y", *args), message)


# ---------------------------------------------------------------- svmlight / libsvm test files


@pytest.fixture
def libsvm_model(tmp_path):
    """a model fitted on a one-based libsvm file of 6 features (x1..x6), and the matrix it came from"""
    rng = np.random.default_rng(2)
    X = sp.random(80, 6, density=0.4, random_state=2, format="csr", data_rvs=lambda k: rng.normal(1.0, 1.0, k))
    X = sp.hstack([X[:, :-1], sp.csr_matrix(np.r_[1.0, np.zeros(79)][:, None])]).tocsr()
    X.data = np.round(X.data, 6)
    y = np.round(X @ np.linspace(-1.0, 1.0, 6) + 0.4 + 0.1 * rng.normal(size=80), 6)
    train = tmp_path / "train.libsvm"
    dump_svmlight_file(X, y, str(train), zero_based=False)
    model = tmp_path / "m.json"
    assert gradfit("fit", train, "-o", model, "--seed", "0", "-q").exit_code == 0
    return model, X, y


@pytest.mark.parametrize("name", ["test.libsvm", "test.svm.gz"])
def test_evaluate_scores_an_svmlight_file_read_as_the_model_was_fitted(libsvm_model, tmp_path, name):
    model, X, y = libsvm_model
    new, new_y = X[20:50, :4], y[20:50]  # trailing features left out: padded to the model's width
    plain = tmp_path / "plain.svm"
    dump_svmlight_file(new, new_y, str(plain), zero_based=False)
    test = tmp_path / name
    test.write_bytes(gzip.compress(plain.read_bytes()) if name.endswith(".gz") else plain.read_bytes())
    result = gradfit("evaluate", model, test, "--json")
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    reference_X, reference_y = load_svmlight_file(str(test), zero_based=False, n_features=6)
    fitted = load_model(model)
    predictions = reference_X @ fitted.coef_ + fitted.intercept_
    for key, value in reference(reference_y, predictions, None).items():
        assert scored[key] == pytest.approx(value, rel=TOL, abs=TOL), key
    assert scored["n_rows"] == 30 and scored["weights"] is None
    shown = gradfit("evaluate", model, test)
    assert shown.exit_code == 0 and "(30 rows)" in shown.stdout and shown.stderr == ""


@pytest.mark.parametrize("args, message", [
    (["--target", "y"], r"option --target does not apply to svmlight data"),
    (["--weights", "w"], r"option --weights does not apply to svmlight data"),
])
def test_evaluate_refuses_column_options_with_svmlight(libsvm_model, tmp_path, args, message):
    model, X, y = libsvm_model
    test = tmp_path / "test.libsvm"
    dump_svmlight_file(X[:5], y[:5], str(test), zero_based=False)
    one_line_error(gradfit("evaluate", model, test, *args), message)


def test_evaluate_refuses_wider_svmlight_data_in_one_line(libsvm_model, tmp_path):
    model, _, _ = libsvm_model
    wide = tmp_path / "wide.svm"
    wide.write_text("1 3:1 9:2\n2 1:1\n")
    one_line_error(gradfit("evaluate", model, wide), r"wide\.svm has feature index 9 but the model takes 6 features "
                                                     r"\(x1\.\.x6\)")

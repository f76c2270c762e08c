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
from sklearn.datasets import dump_svmlight_file
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

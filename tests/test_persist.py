"""Model files: a JSON round trip that changes nothing, atomic writes, and clear refusals of bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import mean_squared_error

from gradfit import GDRegressor, ModelFileError, load_model
from gradfit.datasets import make_regression_data
from gradfit.persist import SCHEMA_VERSION, atomic_write, save


@pytest.fixture(scope="module")
def fitted():
    data = make_regression_data(n=50, d=3, noise=0.5, seed=2)
    frame = pd.DataFrame(data.X, columns=["a", "b", "c"])
    model = GDRegressor(preprocess="standardize", momentum=0.5, epochs=30, batch_size=10, seed=1, alpha=0.01)
    return model.fit(frame, data.y), frame, data.y


def test_round_trip_keeps_everything(fitted, tmp_path):
    model, frame, y = fitted
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.get_params() == model.get_params()
    assert loaded.history_.to_dict() == model.history_.to_dict()
    assert loaded.exact_ == model.exact_ and loaded.gap_ == model.gap_
    assert list(loaded.feature_names_in_) == ["a", "b", "c"] and loaded.preprocessor_ == model.preprocessor_
    assert (loaded.lr_, loaded.seed_, loaded.n_iter_, loaded.t_) == (model.lr_, model.seed_, 30, 150)
    for name in ("x_mean", "xtx", "xty"):
        np.testing.assert_array_equal(getattr(loaded.gram_stats_, name), getattr(model.gram_stats_, name))
    assert loaded.gram_stats_.n == 50 and loaded.gram_stats_.yty == model.gram_stats_.yty


def test_file_is_versioned_json_with_metrics(fitted, tmp_path):
    model, frame, y = fitted
    save(model, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == "gradfit-model" and doc["schema_version"] == SCHEMA_VERSION
    assert doc["gradfit_version"] and doc["created"] and doc["preprocess"]["mode"] == "standardize"
    # training metrics come from the Gram statistics alone; compare with the data
    assert doc["metrics"]["r2"] == pytest.approx(model.score(frame, y), rel=1e-10)
    assert doc["metrics"]["mse"] == pytest.approx(mean_squared_error(y, model.predict(frame)), rel=1e-10)


def test_history_can_be_left_out(fitted, tmp_path):
    model, frame, _ = fitted
    model.save(tmp_path / "m.json", include_history=False)
    loaded = load_model(tmp_path / "m.json")
    assert loaded.history_ is None
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_unfitted_model_is_not_saved(tmp_path):
    with pytest.raises(NotFittedError):
        save(GDRegressor(), tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


def test_atomic_write_replaces_whole_or_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_text() == "second"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "third")
    assert target.read_text() == "second" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def _corrupt(doc: dict, case: str) -> dict:
    doc = json.loads(json.dumps(doc))
    if case == "format":
        doc["format"] = "sklearn-pickle"
    elif case == "newer":
        doc["schema_version"] = SCHEMA_VERSION + 1
    elif case == "missing coef":
        del doc["coef"]
    elif case == "text intercept":
        doc["intercept"] = "zero"
    elif case == "short coef":
        doc["coef"] = doc["coef"][:-1]
    elif case == "unknown setting":
        doc["params"]["learning_rate"] = 0.1
    elif case == "broken history":
        del doc["history"]["loss"]
    elif case == "short preprocess":
        doc["preprocess"]["x_scale"] = [1.0]
    return doc


BAD_DOCS = {
    "format": r"m\.json: field 'format' is 'sklearn-pickle', not 'gradfit-model'",
    "newer": rf"m\.json: field 'schema_version' is {SCHEMA_VERSION + 1}, newer than this gradfit reads",
    "missing coef": r"m\.json: field 'coef' is missing",
    "text intercept": r"m\.json: field 'intercept' must be a number",
    "short coef": r"m\.json: field 'coef' has 2 values but 'feature_names' names 3 features",
    "unknown setting": r"m\.json: field 'params' has unknown settings \['learning_rate'\]",
    "broken history": r"m\.json: field 'history' is malformed \(KeyError: 'loss'\)",
    "short preprocess": r"m\.json: field 'preprocess' is malformed",
}


@pytest.mark.parametrize("case", BAD_DOCS)
def test_malformed_files_are_refused_naming_the_field(case, fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path / "good.json")
    doc = _corrupt(json.loads((tmp_path / "good.json").read_text()), case)
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=BAD_DOCS[case]) as info:
        load_model(tmp_path / "m.json")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    (None, r"model file .*m\.json does not exist"),
    ("{not json", r"model file .*m\.json is not JSON"),
    ("[1, 2]", r"m\.json: field 'format' is 'list', not 'gradfit-model'"),
])
def test_unreadable_files_are_refused(text, message, tmp_path):
    if text is not None:
        (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "m.json")

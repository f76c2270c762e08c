"""Model files: a JSON round trip that changes nothing, atomic writes, and clear refusals of bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import mean_squared_error

from gradfit import GDRegressor, ModelFileError, OptionError, load_model
from gradfit.io.datasets import make_regression_data
from gradfit.io.persist import SCHEMA_VERSION, atomic_write, save


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
    "short coef": r"m\.json: field 'coef' has 2 values but 'feature_names' has 3",
    "unknown setting": r"m\.json: field 'params' has unknown settings \['learning_rate'\]",
    "broken history": r"m\.json: field 'history\.loss' is missing",
    "short preprocess": r"m\.json: field 'coef' has 3 values but 'preprocess\.x_scale' has 1",
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


# ---------------------------------------------------------------- untrusted files (issue 15, items 5 and 6)


def _edit(doc: dict, dotted: str, value) -> dict:
    """a copy of ``doc`` with the field at ``a.b[2]`` set (or removed when value is DELETE)"""
    doc = json.loads(json.dumps(doc))
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.replace("[", ".").replace("]", "").split(".")]
    node = doc
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    elif callable(value):
        node[last] = value(node[last])
    else:
        node[last] = value
    return doc


DELETE = object()

#: (field, value written there, what the one line must say)
HOSTILE_FIELDS = [
    ("params.lr", -1, r"field 'params': option lr=-1 must be a number > 0"),
    ("params.engine", "rocket", r"field 'params': option engine='rocket' is not one of"),
    ("params.loss", "mae", r"field 'params': option loss='mae' is not one of"),
    ("params.quantile", 1.5, r"field 'params': option quantile=1\.5 must be a number in \(0, 1\)"),
    ("params.epsilon", -1, r"field 'params': option epsilon=-1 must be a number > 0"),
    ("params.weight_decay", -0.5, r"field 'params': option weight_decay=-0\.5 must be a number >= 0"),
    ("params.average", "sometimes", r"field 'params\.average' (must be|has an unusable value)"),
    ("params", lambda p: {**p, "schedule": "exponential", "schedule_options": {"gamma": -1}},
     r"field 'params': option schedule_options gamma=-1 must be a number in \(0, 1\]"),
    ("params.epochs", "many", r"field 'params\.epochs' (must be an integer|has an unusable value 'many')"),
    ("gram_stats.n", 0, r"field 'gram_stats\.n': 0 is less than the minimum of 2"),
    ("gram_stats.n", -10, r"field 'gram_stats\.n': -10 is less than the minimum of 2"),
    ("gram_stats.xtx", [[1.0]], r"field 'coef' has 3 values but 'gram_stats\.xtx' has 1"),
    ("gram_stats.yty", "lots", r"field 'gram_stats\.yty' must be a number"),
    ("history.loss", [1.0], r"field 'history\.loss' has 1 entries but 'history\.epoch' has 31"),
    ("history.coef[3]", [1.0], r"field 'history\.coef\[3\]' has 1 values, not 3"),
    ("history.feature_names", ["a"], r"field 'coef' has 3 values but 'history\.feature_names' has 1"),
    ("history.epoch[2]", "two", r"field 'history\.epoch\[2\]' must be an integer"),
    ("coef[1]", "0.5", r"field 'coef\[1\]' must be a number, not '0\.5'"),
    ("exact", {"theta": []}, r"field 'exact\.coef' is missing"),
    ("seed", -3, r"field 'seed': -3 is less than the minimum of 0"),
    ("preprocess.x_scale[0]", 0.0, r"field 'preprocess\.x_scale\[0\]': 0\.0 is less than or equal to the minimum"),
    ("descent.theta", [1.0], r"field 'descent\.theta' has 1 values for a model of 4 parameters"),
    ("descent.epoch", 3, r"field 'descent' is at epoch 3"),
    ("surprise", 1, r"field 'the document' has unknown entries \['surprise'\]"),
]


@pytest.mark.parametrize("field, value, message", HOSTILE_FIELDS,
                         ids=[f"{f}={'edited' if callable(v) else repr(v)}"[:40] for f, v, _ in HOSTILE_FIELDS])
def test_every_field_is_validated_before_use(field, value, message, fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path / "good.json")
    (tmp_path / "m.json").write_text(json.dumps(_edit(json.loads((tmp_path / "good.json").read_text()), field, value)))
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(tmp_path / "m.json")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize("literal, message", [
    ("NaN", r"is not JSON \(NaN is not a JSON number\)"),
    ("Infinity", r"is not JSON \(Infinity is not a JSON number\)"),
    ("-Infinity", r"is not JSON \(-Infinity is not a JSON number\)"),
    ("1e999", r"is not JSON \(the number 1e999 is too large for a float\)"),
    ("1" * 5000, r"is not JSON \(an integer of 5000 digits is too long\)"),
    ("1" * 400 + ".5", r"is not JSON \(the number 1111.* is too large for a float\)"),
])
def test_non_finite_and_oversized_literals_are_refused(literal, message, fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path / "good.json")
    text = (tmp_path / "good.json").read_text()
    doc = json.loads(text)
    (tmp_path / "m.json").write_text(text.replace(json.dumps(doc["intercept"]), literal, 1))
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "m.json")


def test_deep_nesting_and_huge_files_are_refused(tmp_path, monkeypatch):
    (tmp_path / "deep.json").write_text('{"format": "gradfit-model", "x": ' + "[" * 10_000 + "]" * 10_000 + "}")
    with pytest.raises(ModelFileError, match=r"deep\.json is not a gradfit model: its JSON is nested too deeply"):
        load_model(tmp_path / "deep.json")
    monkeypatch.setattr("gradfit.io.model_schema.MAX_BYTES", 100)
    (tmp_path / "big.json").write_text(" " * 200)
    with pytest.raises(ModelFileError, match=r"big\.json is 0 MiB, above the limit"):
        load_model(tmp_path / "big.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ModelFileError, match=r"folder\.json is a folder, not a file"):
        load_model(tmp_path / "folder.json")


def test_loading_never_restores_where_to_connect(fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path / "good.json")
    doc = json.loads((tmp_path / "good.json").read_text())
    assert doc["params"]["engine_options"] is None  # nor is it written
    doc["params"]["engine_options"] = {"scheduler": "tcp://attacker.example:8786"}
    (tmp_path / "m.json").write_text(json.dumps(doc))
    assert load_model(tmp_path / "m.json").engine_options is None


def test_the_schema_accepts_every_file_gradfit_writes(tmp_path):
    from jsonschema import Draft202012Validator

    from gradfit.io.model_schema import SCHEMA

    Draft202012Validator.check_schema(SCHEMA)
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    for params in ({}, {"fit_intercept": False, "tol": 1e-3, "init": ([0.5, 0.1], 0.0)}, {"optimizer": "rmsprop"},
                   {"optimizer": "sgd", "momentum": 0.9, "batch_size": 3, "record_every": "step"}):
        GDRegressor(epochs=3, seed=0, **params).fit(X, y).save(tmp_path / "m.json")
        Draft202012Validator(SCHEMA).validate(json.loads((tmp_path / "m.json").read_text()))
        assert load_model(tmp_path / "m.json").n_iter_ >= 1


# ---------------------------------------------------------------- resuming (issue 15, item 12)

RESUMABLE = [
    dict(optimizer="adam", batch_size=7, lr=0.01),
    dict(optimizer="sgd", momentum=0.9, nesterov=True, batch_size=5, schedule="cosine", lr=0.002),
    dict(optimizer="rmsprop", batch_size=1, record_every=4, lr=0.001, preprocess="standardize"),
    dict(optimizer="adagrad", lr=0.5, tol=1e-9, n_iter_no_change=50, schedule="step", alpha=0.1, l1_ratio=0.5),
    dict(optimizer="adam", batch_size=4, engine="python", lr=0.01, record_every="step"),
    dict(optimizer="adamw", weight_decay=0.05, batch_size=6, lr=0.01, loss="huber", epsilon=0.5, average=10),
    dict(loss="quantile", quantile=0.7, batch_size=3, lr=0.01, average=True, engine="python"),
    dict(loss="epsilon_insensitive", epsilon=0.2, lr=0.05, average=5),
]


def _interrupt_at(epoch: int):
    def callback(info):
        if info.epoch == epoch:
            raise KeyboardInterrupt

    return callback


@pytest.mark.parametrize("settings", RESUMABLE, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items())[:60])
def test_an_interrupted_fit_resumed_from_its_file_ends_bit_for_bit_where_an_unbroken_one_does(settings, tmp_path):
    data = make_regression_data(n=37, d=3, noise=0.3, seed=5)
    base = dict(epochs=12, seed=11, **settings)
    whole = GDRegressor(**base).fit(data.X, data.y)
    stop = int(np.random.default_rng().integers(1, 12))  # a random epoch: any one must do
    cut = GDRegressor(**base)
    cut._callbacks = [_interrupt_at(stop)]
    from gradfit.training import solver

    result = solver.fit(data.X, data.y, cut._config(), callbacks=[_interrupt_at(stop)])
    assert result.outcome.interrupted and result.n_iter == stop
    cut._store(result)
    cut.n_features_in_ = 3
    cut.save(tmp_path / "cut.json")
    resumed = load_model(tmp_path / "cut.json").resume(data.X, data.y)
    assert resumed.coef_.tolist() == whole.coef_.tolist(), stop
    assert resumed.intercept_ == whole.intercept_ and (resumed.n_iter_, resumed.t_) == (whole.n_iter_, whole.t_)
    for name in ("epoch", "step", "loss", "coef", "intercept", "grad_norm", "lr"):
        assert resumed.history_.columns[name] == whole.history_.columns[name], (name, stop)


def test_partial_fit_and_warm_start_continue_a_loaded_model(tmp_path):
    data = make_regression_data(n=40, d=2, noise=0.3, seed=1)
    settings = dict(optimizer="adam", batch_size=8, lr=0.01, seed=2)
    whole = GDRegressor(epochs=6, **settings).fit(data.X, data.y)
    GDRegressor(epochs=3, **settings).fit(data.X, data.y).save(tmp_path / "m.json")
    stepped = load_model(tmp_path / "m.json")
    for _ in range(3):
        stepped.partial_fit(data.X, data.y)
    assert stepped.coef_.tolist() == whole.coef_.tolist() and stepped.n_iter_ == 6
    warm = load_model(tmp_path / "m.json").set_params(warm_start=True)
    warm.fit(data.X, data.y)
    assert warm.coef_.tolist() == whole.coef_.tolist() and warm.history_.loss == whole.history_.loss


def test_resume_needs_a_kept_descent(fitted, tmp_path):
    model, frame, y = fitted
    model.save(tmp_path / "m.json", include_history=False)
    with pytest.raises(OptionError, match="nothing to resume: this model has no kept descent state"):
        load_model(tmp_path / "m.json").resume(frame, y)


def test_a_long_fit_keeps_a_bounded_history_in_its_file(tmp_path):
    # a model fitted for many epochs used to carry every entry (a 6-feature, 200,000-epoch model was 59.5 MB)
    from gradfit.io.persist import HISTORY_IN_FILE

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6))
    y = X @ np.arange(6.0) + rng.normal(size=50)
    model = GDRegressor(lr=1e-4, epochs=3 * HISTORY_IN_FILE, tol=None, preprocess="none").fit(X, y)
    model.save(tmp_path / "m.json")
    model.save(tmp_path / "full.json", include_history="full")
    loaded, full = load_model(tmp_path / "m.json"), load_model(tmp_path / "full.json")
    assert len(full.history_) == len(model.history_) == 3 * HISTORY_IN_FILE + 1
    assert len(loaded.history_) == HISTORY_IN_FILE
    assert loaded.history_[0] == model.history_[0] and loaded.history_[-1] == model.history_[-1]
    assert (tmp_path / "m.json").stat().st_size < (tmp_path / "full.json").stat().st_size / 2.5
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))

"""Text columns and formulas: design matrices against formulaic's own, coefficients against closed-form least
squares, model files that predict raw data, one clear line for every bad input, and predict reading only what
it needs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gradfit import GDRegressor, load_model
from gradfit.errors import DataError, ModelFileError, OptionError
from gradfit.io.encoding import read_labelled, read_training
from gradfit.io.formula import design
from gradfit.io.model_reader import read_predictor

from .helpers import gradfit, one_line_error


@pytest.fixture
def formulaic():
    """formulaic itself (the independent reference, and what formulas run on); skips where it is missing"""
    return pytest.importorskip("formulaic", reason="formulas need formulaic (pip install 'gradfit[formula]')")


def houses(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """rows with two numbers, two text columns and a numeric code; y linear in them with a little noise"""
    rng = np.random.default_rng(seed)
    region = rng.choice(["east", "north", "south"], n)
    city = rng.choice(["Oslo", "Rome"], n)
    rooms = rng.choice([1, 2, 3], n)
    x1, x2 = rng.normal(size=n), rng.uniform(1.0, 5.0, n)
    y = (1.0 + 2.0 * x1 + 0.5 * np.log(x2) + np.select([region == "north", region == "south"], [1.0, -1.0], 0.0)
         + 0.3 * (city == "Rome") + 0.2 * rooms + 0.05 * rng.normal(size=n))
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "city": city, "rooms": rooms, "y": y})


@pytest.fixture
def train_csv(tmp_path):
    path = tmp_path / "train.csv"
    houses().to_csv(path, index=False)
    return path


FORMULAS = ["y ~ x1 + np.log(x2) + C(region)", "y ~ x1 * C(region) + city", "y ~ 0 + x1 + region + city",
            "y ~ center(x1) + scale(x2) + C(rooms)",
            "y ~ poly(x1, 2) + I(x2 ** 2) + C(region, contr.treatment('south'))",
            "y ~ ."]


# ---------------------------------------------------------------- the design matrix and the fit


@pytest.mark.parametrize("formula", FORMULAS)
def test_design_matrix_is_formulaics_and_rebuilds_from_the_model_file_on_new_rows(formula, formulaic):
    data, new = houses(), houses(n=15, seed=1)
    built = design(formula, data)
    reference = formulaic.model_matrix(formula, data)
    rhs = reference.rhs
    names = [c for c in rhs.columns if c != "Intercept"]
    assert built.encoding.names == names and built.encoding.intercept == ("Intercept" in rhs.columns)
    np.testing.assert_array_equal(built.X, rhs[names].to_numpy())
    np.testing.assert_array_equal(built.y, reference.lhs.to_numpy()[:, 0])
    kept = type(built.encoding).from_dict(json.loads(json.dumps(built.encoding.to_dict())))
    np.testing.assert_allclose(kept.transform(new), rhs.model_spec.get_model_matrix(new)[names].to_numpy(),
                               rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("formula", FORMULAS[:4])
def test_coefficients_are_least_squares_on_formulaics_matrix(formula, formulaic):
    data = houses()
    model = GDRegressor.from_formula(formula, data, tol=1e-11, epochs=20_000)
    Z = formulaic.model_matrix(formula, data).rhs
    theta = np.linalg.lstsq(Z.to_numpy(), data["y"].to_numpy(), rcond=None)[0]
    fitted = np.append(model.coef_, model.intercept_) if "Intercept" in Z.columns else model.coef_
    expected = np.append(theta[1:], theta[0]) if "Intercept" in Z.columns else theta
    np.testing.assert_allclose(fitted, expected, rtol=1e-8, atol=1e-8)
    assert list(model.feature_names_in_) == [c for c in Z.columns if c != "Intercept"]
    assert model.fit_intercept == ("Intercept" in Z.columns)


def test_categorical_one_hot_equals_formulaics_coding(tmp_path, formulaic):
    data = houses()
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    for intercept, formula in ((True, "x1 + region + city + C(rooms)"), (False, "0 + x1 + region + city + C(rooms)")):
        read = read_training(path, "y", ["x1", "region", "city", "rooms"], ["rooms"], intercept=intercept)
        reference = formulaic.model_matrix(formula, data)
        columns = [c for c in reference.columns if c != "Intercept"]
        assert read.names == [c.replace("C(rooms)", "rooms") for c in columns]
        np.testing.assert_array_equal(read.X, reference[columns].to_numpy())
        assert read.encoded == ["region", "city"]  # text columns encoded without being named


def test_from_formula_predicts_raw_data_and_keeps_it_through_the_model_file(tmp_path, formulaic):
    data, new = houses(), houses(n=10, seed=2).drop(columns="y")
    model = GDRegressor.from_formula("y ~ x1 + np.log(x2) + C(region)", data, seed=0)
    in_session = model.predict(new)
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.predict(new), in_session)
    np.testing.assert_array_equal(read_predictor(tmp_path / "m.json").predict(
        loaded.encoding_.transform(new)), in_session)
    assert loaded.score(data, data["y"]) == pytest.approx(model.score(data, data["y"]), rel=1e-12)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["encoding"]["factors"]["C(region)"] == {"kind": "categorical", "levels": ["east", "north", "south"]}


def test_fit_refits_without_the_encoding(formulaic):
    model = GDRegressor.from_formula("y ~ x1 + C(region)", houses())
    model.fit(houses()[["x1", "x2"]], houses()["y"])
    assert model.encoding_ is None and list(model.feature_names_in_) == ["x1", "x2"]


@pytest.mark.parametrize("formula, settings, error, message", [
    ("y ~ x1 +", {}, OptionError, r"formula 'y ~ x1 \+' cannot be read: Operator `\+` has"),
    ("x1 + x2", {}, OptionError, r"formula 'x1 \+ x2' needs one target on the left of '~'"),
    ("y ~ x9", {}, DataError, r"data has no column 'x9', which the formula 'y ~ x9' names; its columns are"),
    ("y ~ foo(x1)", {}, OptionError, r"the term 'foo\(x1\)' calls 'foo', which gradfit does not allow"),
    ("y ~ np.linalg.norm(x1)", {}, OptionError, r"calls 'np\.linalg\.norm', which gradfit does not allow"),
    ("y ~ x1[0]", {}, OptionError, r"the term 'x1\[0\]' uses Subscript, which gradfit does not allow"),
    ("y ~ x1 | x2", {}, OptionError, r"has more than one '~' or '\|' part"),
    ("region ~ x1", {}, DataError, r"the target 'region' of the formula 'region ~ x1' is not numeric"),
    ("y ~ x1 - 1", {"fit_intercept": True}, OptionError, r"option fit_intercept=True contradicts the formula"),
])
def test_bad_formulas_are_one_clear_line(formula, settings, error, message, formulaic):
    with pytest.raises(error, match=message):
        GDRegressor.from_formula(formula, houses(), **settings)


def test_raw_data_with_an_unknown_level_or_a_missing_value_is_named(formulaic):
    model = GDRegressor.from_formula("y ~ x1 + C(region)", houses())
    new = houses(n=4, seed=3)
    new.loc[2, "region"] = "west"
    with pytest.raises(DataError, match=r"X: column 'region' has the level 'west' at row index 2, which the model "
                                        r"was not fitted on \(its levels: 'east', 'north', 'south'\)"):
        model.predict(new)
    new.loc[2, "region"] = None
    with pytest.raises(DataError, match=r"X: column 'region' has a missing value at row index 2"):
        model.predict(new)
    with pytest.raises(DataError, match=r"X has no column 'region', which the formula 'y ~ x1 \+ C\(region\)' names"):
        model.predict(new[["x1"]])


# ---------------------------------------------------------------- the command line


def test_cli_fit_formula_and_predict_raw_data(train_csv, tmp_path, formulaic):
    out = tmp_path / "m.json"
    result = gradfit("fit", train_csv, "--formula", "y ~ x1 + np.log(x2) + C(region)", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["coef"]) == ["x1", "np.log(x2)", "C(region)[T.north]", "C(region)[T.south]"]
    new = houses(n=8, seed=4).drop(columns="y")
    new.to_csv(tmp_path / "new.csv", index=False)
    predicted = gradfit("predict", out, tmp_path / "new.csv")
    assert predicted.exit_code == 0, predicted.output
    np.testing.assert_array_equal(pd.read_csv(io_text(predicted.stdout))["prediction"], load_model(out).predict(new))
    scored = gradfit("evaluate", out, train_csv, "--json")
    assert scored.exit_code == 0 and json.loads(scored.stdout)["r2"] > 0.99


def io_text(text: str):
    import io

    return io.StringIO(text)


def test_cli_categorical_and_the_note_for_text_columns(train_csv, tmp_path):
    out = tmp_path / "m.json"
    result = gradfit("fit", train_csv, "-t", "y", "--categorical", "rooms", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: text columns 'region', 'city' are encoded as categories (one-hot: a column per "
                             "level, the first level the reference); name them with --categorical to say so, or "
                             "leave them out with --exclude\n")
    model = load_model(out)
    assert list(model.feature_names_in_) == ["x1", "x2", "region[T.north]", "region[T.south]", "city[T.Rome]",
                                             "rooms[T.2]", "rooms[T.3]"]
    named = gradfit("fit", train_csv, "-t", "y", "--categorical", "region,city,rooms", "-o", out)
    assert named.exit_code == 0 and named.stderr == ""
    (tmp_path / "west.csv").write_text("x1,x2,region,city,rooms\n1,2,east,Oslo,1\n1,2,west,Oslo,1\n")
    one_line_error(gradfit("predict", out, tmp_path / "west.csv"),
                   r"west\.csv: column 'region' has the level 'west' at row 2, which the model was not fitted on "
                   r"\(its levels: 'east', 'north', 'south'\)")


def test_cli_without_an_intercept_keeps_every_level_of_the_first_category(train_csv, tmp_path):
    result = gradfit("fit", train_csv, "-t", "y", "--categorical", "region,city", "--features", "x1,region,city",
                     "--no-intercept", "-o", tmp_path / "m.json", "-q")
    assert result.exit_code == 0, result.output
    assert list(load_model(tmp_path / "m.json").feature_names_in_) == [
        "x1", "region[east]", "region[north]", "region[south]", "city[T.Rome]"]


@pytest.mark.parametrize("args, message", [
    (["--formula", "y ~ x1 +"], r"formula 'y ~ x1 \+' cannot be read"),
    (["--formula", "y ~ x9"], r"train\.csv has no column 'x9', which the formula 'y ~ x9' names"),
    (["--formula", "y ~ foo(x1)"], r"calls 'foo', which gradfit does not allow in formulas"),
    (["--formula", "y ~ np.log(x1)"], r"column 'np\.log\(x1\)' has a missing value \(NaN\) at row \d+"),
    (["--formula", "y ~ x1", "--features", "x1"], r"options --formula and --features both choose the columns"),
    (["--formula", "y ~ x1", "--categorical", "region"], r"options --formula and --categorical both choose"),
    (["--formula", "y ~ x1", "--no-intercept"], r"option --no-intercept: with --formula the formula says"),
    (["--formula", "y ~ x1", "-t", "x2"], r"option --target 'x2' differs from the formula's target 'y'"),
    (["--formula", "y ~ x1", "--engine", "dask"], r"option --formula encodes data in memory; it does not work"),
    ([], r"option --target is missing: name the column to predict"),
    (["-t", "y", "--categorical", "nope"], r"train\.csv has no column 'nope', which --categorical names"),
    (["-t", "y", "--features", "x1", "--categorical", "region"],
     r"option --categorical names 'region', which is not among the features \['x1'\]"),
])
def test_cli_bad_formulas_and_categories_are_one_line_and_write_nothing(train_csv, tmp_path, args, message,
                                                                         formulaic):
    if "--engine" in args:
        pytest.importorskip("dask", reason="the dask engine is an optional extra")
    one_line_error(gradfit("fit", train_csv, *args, "-o", tmp_path / "m.json"), message)
    assert not (tmp_path / "m.json").exists()


def test_without_formulaic_a_formula_is_one_line_saying_what_to_install(train_csv, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "formulaic", None)  # import formulaic now fails
    one_line_error(gradfit("fit", train_csv, "--formula", "y ~ x1", "-o", tmp_path / "m.json"),
                   r"formulas need formulaic, an optional part of gradfit: pip install 'gradfit\[formula\]'")


def test_text_columns_that_look_numeric_or_like_identifiers_are_refused(tmp_path):
    (tmp_path / "n.csv").write_text("a,b,y\n1,x,3\n2,1,5\n3,2,4\n")
    one_line_error(gradfit("fit", tmp_path / "n.csv", "-t", "y", "-o", tmp_path / "m.json"),
                   r"n\.csv: column 'b' is not numeric \(row 1 holds 'x'\); if it is a category, name it with "
                   r"--categorical b")
    rows = "".join(f"{k},id{k},{k % 7}\n" for k in range(60))
    (tmp_path / "i.csv").write_text("a,name,y\n" + rows)
    one_line_error(gradfit("fit", tmp_path / "i.csv", "-t", "y", "-o", tmp_path / "m.json"),
                   r"column 'name' holds text with 60 distinct values, more than the 50 gradfit encodes on its own")
    forced = gradfit("fit", tmp_path / "i.csv", "-t", "y", "--categorical", "name", "-o", tmp_path / "m.json", "-q")
    assert forced.exit_code == 0 and len(load_model(tmp_path / "m.json").coef_) == 60


# ---------------------------------------------------------------- predict reads only what it needs


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("formula", ["y ~ x1 + C(region)", None])
def test_predict_reads_only_the_columns_the_model_needs(train_csv, tmp_path, monkeypatch, kind, formula,
                                                        formulaic):
    import pyarrow.csv
    import pyarrow.parquet

    out = tmp_path / "m.json"
    how = ["--formula", formula] if formula else ["-t", "y", "--features", "x1"]
    assert gradfit("fit", train_csv, *how, "-o", out, "-q").exit_code == 0
    new = pd.DataFrame({"x1": [0.5, -1.0, 2.0], "region": ["east", "south", "north"],
                        "junk": ["text", "that is no", "number"], "y": ["n/a", "n/a", "n/a"]})
    path = tmp_path / f"new.{kind}"
    new.to_csv(path, index=False) if kind == "csv" else new.to_parquet(path)
    read = []
    csv_reader, parquet_reader = pyarrow.csv.read_csv, pyarrow.parquet.read_table
    monkeypatch.setattr(pyarrow.csv, "read_csv", lambda source, **kw: read.append(
        kw["convert_options"].include_columns) or csv_reader(source, **kw))
    monkeypatch.setattr(pyarrow.parquet, "read_table", lambda source, **kw: read.append(
        kw["columns"]) or parquet_reader(source, **kw))
    predicted = gradfit("predict", out, path)
    assert predicted.exit_code == 0, predicted.output
    assert read == [["x1", "region"] if formula else ["x1"]]
    values = pd.read_csv(io_text(predicted.stdout))["prediction"].to_numpy()
    np.testing.assert_allclose(values, load_model(out).predict(new[["x1", "region"]] if formula else new[["x1"]]),
                               rtol=1e-12)


def test_predict_does_not_parse_the_history(train_csv, tmp_path):
    out = tmp_path / "m.json"
    assert gradfit("fit", train_csv, "-t", "y", "--features", "x1,x2", "-o", out, "-q").exit_code == 0
    doc = json.loads(out.read_text())
    doc["history"]["loss"] = ["not a number"] * len(doc["history"]["loss"])  # load_model refuses this
    out.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"field 'history'"):
        load_model(out)
    predicted = gradfit("predict", out, train_csv)
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.splitlines()) == 121


@pytest.mark.parametrize("rhs", ["__import__('os').system('touch pwned')", "x1.__class__", "np.linalg.inv(x1)",
                                 "open('f')", "poly(x1, 10000000)", "bs(x1, df=10000000)"])
def test_model_files_whose_formula_would_run_code_are_refused(train_csv, tmp_path, monkeypatch, rhs,
                                                              formulaic):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "m.json"
    assert gradfit("fit", train_csv, "--formula", "y ~ x1", "-o", out, "-q").exit_code == 0
    doc = json.loads(out.read_text())
    doc["encoding"]["rhs"] = f"1 + {rhs}"
    out.write_text(json.dumps(doc))
    one_line_error(gradfit("predict", out, train_csv), r"m\.json: field 'encoding': ")
    with pytest.raises(ModelFileError, match=r"field 'encoding'"):
        load_model(out)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("field, value, message", [
    ("levels", ["east", "north"], r"field 'encoding' gives the columns .* not the model's feature_names"),
    ("levels", ["east", "east", "south"], r"field 'encoding': the levels of 'region' repeat a value"),
    ("column", "elsewhere", r"field 'encoding': the categorical column 'elsewhere' is not among the columns"),
])
def test_model_files_whose_encoding_disagrees_with_the_model_are_refused(train_csv, tmp_path, field, value, message):
    out = tmp_path / "m.json"
    assert gradfit("fit", train_csv, "-t", "y", "-o", out, "-q").exit_code == 0
    doc = json.loads(out.read_text())
    doc["encoding"]["categories"][0][field] = value
    out.write_text(json.dumps(doc))
    one_line_error(gradfit("predict", out, train_csv), message)
    with pytest.raises(ModelFileError, match=message):
        load_model(out)


def test_model_files_of_schema_1_without_an_encoding_still_predict(plane_csv, tmp_path):
    out = tmp_path / "m.json"
    assert gradfit("fit", plane_csv, "-t", "y", "-o", out, "-q").exit_code == 0
    doc = json.loads(out.read_text())
    del doc["encoding"]
    doc["schema_version"] = 1
    out.write_text(json.dumps(doc))
    assert load_model(out).encoding_ is None
    assert gradfit("predict", out, plane_csv).exit_code == 0


@pytest.mark.parametrize("how", [["--formula", "y ~ x1 + np.log(x2) + C(region)"],
                                 ["-t", "y", "--categorical", "rooms"]])
def test_a_stopped_fit_resumes_on_raw_data_to_the_same_end(train_csv, tmp_path, how, formulaic):
    settings = ["--optimizer", "adam", "--lr", "0.05", "--batch-size", "8", "--seed", "3", "--epochs", "12"]
    whole = tmp_path / "whole.json"
    assert gradfit("fit", train_csv, *how, *settings, "-o", whole, "-q").exit_code == 0
    cut = tmp_path / "cut.json"
    model = load_model(whole)
    X, y, _ = read_labelled(train_csv, list(model.feature_names_in_), model.encoding_, "y")
    stopped = GDRegressor(**{**model.get_params(), "callbacks": [lambda info: info.epoch >= 4]})
    stopped.fit(pd.DataFrame(X, columns=model.encoding_.names, copy=False), y)  # as the command: C order
    stopped.encoding_ = model.encoding_
    stopped.save(cut)
    assert load_model(cut).n_iter_ == 4
    one_line_error(gradfit("fit", train_csv, "--resume", cut, "--formula", "y ~ x1", "-q"),
                   r"option --formula cannot be changed with --resume")
    target = ["-t", "y"] if how[0] == "-t" else []  # a formula says its target itself
    resumed = gradfit("fit", train_csv, *target, "--resume", cut, "-q")
    assert resumed.exit_code == 0, resumed.output
    a, b = load_model(whole), load_model(cut)
    # the same end to rounding: the cut was fitted in this process from a DataFrame, the rest by the command; a
    # resume that lost its state or its encoding would be off by far more (test_resume.py holds the command's
    # own resume to the bit)
    np.testing.assert_allclose(np.append(b.coef_, b.intercept_), np.append(a.coef_, a.intercept_), rtol=1e-13)
    assert b.n_iter_ == 12
    assert b.encoding_ == a.encoding_


def test_top_level_fields_skip_what_is_not_asked_for_as_json_reads_it():
    from gradfit.io.json_fields import top_level_fields
    from gradfit.io.model_schema import PREDICTING

    tricky = {"history": {"names": ["a]\"}", "{[", "\\\\"], "loss": [1e-300, -0.0, None, True]},
              "coef": [1.5, -2.0], "intercept": 0.25, "feature_names": ["x]", "y\"{"], "extra": "}",
              "descent": [[[]], {}, ""]}
    for indent in (None, 1):
        text = json.dumps(tricky, indent=indent)
        assert top_level_fields(text, frozenset(tricky), json.JSONDecoder()) == json.loads(text)
        assert top_level_fields(text, PREDICTING, json.JSONDecoder()) == {
            k: tricky[k] for k in ("coef", "intercept", "feature_names")}
    for broken in ('{"history": [1, 2', '{"a": 1,}', '{"a": 1} x', '[1]', '{"a" 1}', '{"coef": [1}'):
        with pytest.raises(ValueError):
            top_level_fields(broken, PREDICTING, json.JSONDecoder())


def test_names_and_coefficients_are_those_of_statsmodels_ols(formulaic):
    smf = pytest.importorskip("statsmodels.formula.api", reason="statsmodels is in the test extra")
    data = houses()
    formula = "y ~ x1 + np.log(x2) + C(region) + city"
    params = smf.ols(formula, data).fit().params
    model = GDRegressor.from_formula(formula, data, tol=1e-11, epochs=20_000)
    fitted = pd.Series(model.coef_, index=model.feature_names_in_)
    assert sorted(fitted.index) == sorted(params.drop("Intercept").index)  # patsy puts categories first
    np.testing.assert_allclose(fitted.to_numpy(), params[fitted.index].to_numpy(), rtol=1e-8, atol=1e-8)
    assert model.intercept_ == pytest.approx(params["Intercept"], rel=1e-8, abs=1e-8)


def test_summary_and_plots_of_a_formula_model_read_raw_data_without_target(train_csv, tmp_path, formulaic):
    out = tmp_path / "m.json"
    assert gradfit("fit", train_csv, "--formula", "y ~ x1 + np.log(x2) + C(region)", "-o", out, "-q").exit_code == 0
    shown = gradfit("summary", out, "--data", train_csv, "--cov-type", "HC1", "--json")
    assert shown.exit_code == 0, shown.output
    assert "C(region)[T.north]" in shown.stdout and "HC1" in shown.stdout
    drawn = gradfit("plot", out, "--kind", "pred", "--data", train_csv, "--out", tmp_path / "pred.png")
    assert drawn.exit_code == 0 and (tmp_path / "pred.png").stat().st_size > 0
    one_line_error(gradfit("plot", out, "--kind", "pred", "--data", train_csv, "-t", "x1", "--out", tmp_path / "p.png"),
                   r"option --target 'x1' differs from the target 'y' of the model's formula")


def test_robust_summary_of_a_formula_model_takes_raw_data(formulaic):
    sm = pytest.importorskip("statsmodels.formula.api", reason="statsmodels is in the test extra")
    data = houses()
    model = GDRegressor.from_formula("y ~ x1 + C(region)", data, tol=1e-11, epochs=20_000)
    table = model.summary(data, data["y"], cov_type="HC1").to_dict()
    reference = sm.ols("y ~ x1 + C(region)", data).fit(cov_type="HC1")
    errors = {row["name"]: row["std_err"] for row in table["coefficients"]}
    assert errors["C(region)[T.north]"] == pytest.approx(reference.bse["C(region)[T.north]"], rel=1e-6)

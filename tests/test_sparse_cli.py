"""Sparse svmlight/libsvm data from the CLI: ``gradfit fit data.svm`` and ``gradfit predict model.json new.svm``.

References: GDRegressor on the same CSR matrix in Python (same settings and seed: 1e-12), the model's own
predictions in session (1e-12), and the one-line refusals (exit 2).
"""

import gzip
import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from gradfit import GDRegressor, load_model
from gradfit.errors import DataError, OptionError
from gradfit.io.svmlight import read_svmlight

from .helpers import gradfit, one_line_error
from .test_sparse import fit_quietly, sparse_data

TOL = 1e-12
SETTINGS = dict(lr=0.02, epochs=20, seed=3, batch_size=7, preprocess="center", alpha=0.01)
FLAGS = ["--lr", "0.02", "--epochs", "20", "--seed", "3", "--batch-size", "7", "--preprocess", "center",
         "--alpha", "0.01", "-q"]


@pytest.fixture
def svm(tmp_path):
    """a known sparse matrix (its last column non-empty, so the file holds its full width), y, and their file"""
    X, y = sparse_data(n=90, d=6)
    X = sp.hstack([X[:, :-1], sp.csr_matrix(np.r_[1.0, np.zeros(89)][:, None])]).tocsr()
    X.data, y = np.round(X.data, 6), np.round(y, 6)  # written in 16 digits, read back exactly: the same matrix
    path = tmp_path / "train.svm"
    dump_svmlight_file(X, y, str(path))
    return X, y, path


def test_the_reader_keeps_the_matrix_sparse_and_the_files_indices(svm):
    X, y, path = svm
    read = read_svmlight(path)
    assert sp.issparse(read.X) and read.X.format == "csr"
    assert read.names == [f"x{j}" for j in range(6)]
    np.testing.assert_array_equal(read.X.toarray(), X.toarray())
    np.testing.assert_array_equal(read.y, y)


def test_cli_fit_equals_the_python_fit_on_the_same_csr_matrix(svm, tmp_path):
    X, y, path = svm
    out = tmp_path / "model.json"
    result = gradfit("fit", path, "-o", out, *FLAGS)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    python = fit_quietly(GDRegressor(**SETTINGS, verbose=False), X, y)
    np.testing.assert_allclose(doc["coef"], python.coef_, rtol=TOL, atol=TOL)
    assert doc["intercept"] == pytest.approx(python.intercept_, rel=TOL, abs=TOL)


@pytest.mark.parametrize("name", ["new.svm", "new.libsvm.gz"])
def test_cli_predict_equals_the_in_session_predictions(svm, tmp_path, name):
    X, y, path = svm
    out = tmp_path / "model.json"
    assert gradfit("fit", path, "-o", out, *FLAGS).exit_code == 0
    python = fit_quietly(GDRegressor(**SETTINGS, verbose=False), X, y)
    new = X[10:25, :4]  # svmlight omits trailing zeros: four columns, padded to the model's six
    plain = tmp_path / "plain.svm"
    dump_svmlight_file(new, np.zeros(new.shape[0]), str(plain))
    target = tmp_path / name
    target.write_bytes(gzip.compress(plain.read_bytes()) if name.endswith(".gz") else plain.read_bytes())
    result = gradfit("predict", out, target)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "prediction"
    padded = sp.hstack([new, sp.csr_matrix((new.shape[0], 2))]).tocsr()
    np.testing.assert_allclose([float(v) for v in lines[1:]], python.predict(padded), rtol=TOL, atol=TOL)


def test_a_malformed_line_is_named(tmp_path):
    bad = tmp_path / "bad.svm"
    bad.write_text("1.5 0:2 3:4\n# a comment\n2 1:3\n3 x:3\n")
    one_line_error(gradfit("fit", bad), r"data file .*bad\.svm, line 4: 'x:3' is not index:value")
    with pytest.raises(DataError, match=r"line 4"):
        read_svmlight(bad)


@pytest.mark.parametrize("text, what", [("1 3:1 2:1\n", "index 2 comes after index 3"),
                                        ("one 1:2\n", "the target 'one' is not a number")])
def test_other_malformed_lines(tmp_path, text, what):
    bad = tmp_path / "bad.libsvm"
    bad.write_text("1 0:1\n" + text)
    with pytest.raises(DataError, match=rf"bad\.libsvm, line 2: {what}"):
        read_svmlight(bad)


def test_predict_refuses_features_beyond_the_models_width(svm, tmp_path):
    X, y, path = svm
    out = tmp_path / "model.json"
    assert gradfit("fit", path, "-o", out, *FLAGS).exit_code == 0
    wide = tmp_path / "wide.svm"
    dump_svmlight_file(sp.random(4, 9, density=1.0, random_state=0, format="csr"), np.zeros(4), str(wide))
    one_line_error(gradfit("predict", out, wide), r"wide\.svm has feature index 8 but the model takes 6 features")


def test_other_engines_refuse_sparse_data(svm, tmp_path):
    one_line_error(gradfit("fit", svm[2], "--engine", "torch", "-o", tmp_path / "m.json"),
                   r"engine='torch' does not take sparse input; use engine='numpy'")
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("option", [["--target", "y"], ["--features", "x1"], ["--formula", "y ~ x1"]])
def test_column_options_are_refused(svm, option):
    one_line_error(gradfit("fit", svm[2], *option), rf"option {option[0]} does not apply to svmlight data")


def test_plots_and_report_from_sparse_data(svm, tmp_path):
    result = gradfit("fit", svm[2], *FLAGS, "-o", tmp_path / "m.json", "--plots", tmp_path / "plots",
                     "--report", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert (tmp_path / "r.html").stat().st_size > 0


# ---------------------------------------------------------------- the index base: libsvm files indexed from 1


@pytest.fixture
def libsvm(svm, tmp_path):
    """the fixture's matrix written as libsvm writes it: indexed from 1 (no index 0 anywhere)"""
    X, y, _ = svm
    path = tmp_path / "train.libsvm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    assert " 0:" not in path.read_text()
    return X, y, path


def notes(result) -> list[str]:
    """the note lines on stderr (a short fit also warns that it is not at the optimum)"""
    return [line for line in result.stderr.splitlines() if line.startswith("note:")]


@pytest.mark.parametrize("zero_based", [None, True, False])
@pytest.mark.parametrize("fixture", ["svm", "libsvm"])
def test_the_base_is_sklearns_and_names_follow_the_files_indices(fixture, zero_based, request):
    X, y, path = request.getfixturevalue(fixture)
    one_based_file = fixture == "libsvm"
    if zero_based is False and not one_based_file:  # index 0 read as one-based: refused, with the row
        with pytest.raises(DataError, match=r"train\.svm: row \d+ has feature index 0, but the indices are read as "
                                            r"one-based"):
            read_svmlight(path, zero_based=False)
        return
    read = read_svmlight(path, zero_based=zero_based)
    ref_X, ref_y = load_svmlight_file(str(path), zero_based="auto" if zero_based is None else zero_based)
    np.testing.assert_array_equal(read.X.toarray(), ref_X.toarray())
    np.testing.assert_array_equal(read.y, ref_y)
    expected_zero = (not one_based_file) if zero_based is None else zero_based
    assert read.zero_based is expected_zero
    first = 0 if expected_zero else 1
    assert read.names == [f"x{j}" for j in range(first, first + ref_X.shape[1])]
    if zero_based is None:
        np.testing.assert_array_equal(read.X.toarray(), X.toarray())  # the file's own convention: X itself


def test_cli_fit_reads_a_one_based_file_as_one_based_says_so_and_records_it(libsvm, tmp_path):
    X, y, path = libsvm
    out = tmp_path / "model.json"
    result = gradfit("fit", path, "-o", out, *[f for f in FLAGS if f != "-q"], "--json")
    assert result.exit_code == 0, result.output
    assert notes(result) == []  # --json: the standard output is the summary, and no notes
    shown = gradfit("fit", path, "-o", out, *[f for f in FLAGS if f != "-q"])
    assert shown.exit_code == 0, shown.output
    assert notes(shown) == [
        f"note: data file {path} has no feature index 0: read as one-based (libsvm's convention), features "
        f"x1..x6; --zero-based reads index 1 as the second feature"]
    doc = json.loads(out.read_text())
    assert doc["svmlight"] == {"zero_based": False} and doc["feature_names"] == [f"x{j}" for j in range(1, 7)]
    python = fit_quietly(GDRegressor(**SETTINGS, verbose=False), X, y)
    np.testing.assert_allclose(doc["coef"], python.coef_, rtol=TOL, atol=TOL)
    summary = gradfit("summary", out, "--at", "fit", "--json")
    assert [row["name"] for row in json.loads(summary.stdout)["coefficients"]] == ["const", *doc["feature_names"]]


def test_a_zero_based_file_says_so_and_quiet_says_nothing(svm, tmp_path):
    _, _, path = svm
    shown = gradfit("fit", path, "-o", tmp_path / "m.json", *[f for f in FLAGS if f != "-q"])
    assert shown.exit_code == 0, shown.output
    assert notes(shown) == [f"note: data file {path} has feature index 0: read as zero-based, "
                                         f"features x0..x5"]
    quiet = gradfit("fit", path, "-o", tmp_path / "m.json", *FLAGS)
    assert quiet.exit_code == 0 and notes(quiet) == []
    assert json.loads((tmp_path / "m.json").read_text())["svmlight"] == {"zero_based": True}


def test_predict_maps_another_one_based_file_as_the_model_was_fitted(libsvm, tmp_path):
    X, y, path = libsvm
    out = tmp_path / "model.json"
    assert gradfit("fit", path, "-o", out, *FLAGS).exit_code == 0
    python = fit_quietly(GDRegressor(**SETTINGS, verbose=False), X, y)
    new = X[30:40, 1:4]  # features x2..x4 only: no index 1 either; guessing per file would shift every column
    new = sp.hstack([sp.csr_matrix((new.shape[0], 1)), new]).tocsr()
    new.eliminate_zeros()
    test = tmp_path / "new.libsvm"
    dump_svmlight_file(new, np.zeros(new.shape[0]), str(test), zero_based=False)
    assert " 1:" not in test.read_text()
    result = gradfit("predict", out, test)
    assert result.exit_code == 0, result.output
    padded = sp.hstack([new, sp.csr_matrix((new.shape[0], 2))]).tocsr()
    np.testing.assert_allclose([float(v) for v in result.stdout.splitlines()[1:]], python.predict(padded),
                               rtol=TOL, atol=TOL)
    zero = tmp_path / "zero.svm"
    zero.write_text("1 0:1.5 2:1\n")
    one_line_error(gradfit("predict", out, zero), r"zero\.svm: row 1 has feature index 0, but the model was fitted "
                                                  r"on one-based svmlight data \(features x1\.\.x6\)")
    wide = tmp_path / "wide.libsvm"
    wide.write_text("1 2:1 7:1\n")
    one_line_error(gradfit("predict", out, wide), r"wide\.libsvm has feature index 7 but the model takes 6 "
                                                  r"features \(x1\.\.x6\)")


def test_the_base_options(libsvm, svm, tmp_path, plane_csv):
    X, y, path = libsvm
    out = tmp_path / "m.json"
    result = gradfit("fit", path, "--zero-based", "-o", out, *FLAGS)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["svmlight"] == {"zero_based": True} and doc["feature_names"] == [f"x{j}" for j in range(7)]
    one_line_error(gradfit("fit", svm[2], "--one-based", "-o", tmp_path / "n.json"),
                   r"train\.svm: row \d+ has feature index 0, but the indices are read as one-based \(--one-based\)")
    one_line_error(gradfit("fit", plane_csv, "-t", "y", "--one-based", "-o", tmp_path / "n.json"),
                   r"option --one-based applies to svmlight data only")
    assert not (tmp_path / "n.json").exists()


def test_a_stopped_one_based_fit_resumes_with_its_recorded_base(libsvm, tmp_path):
    X, y, path = libsvm
    settings = [f for f in FLAGS if f != "-q"]
    whole, cut = tmp_path / "whole.json", tmp_path / "cut.json"
    assert gradfit("fit", path, *settings, "-o", whole, "-q").exit_code == 0
    model = load_model(whole)
    stopped = GDRegressor(**{**model.get_params(), "callbacks": [lambda info: info.epoch >= 4]})
    fit_quietly(stopped, X, y)
    stopped.feature_names_in_, stopped.svmlight_zero_based_ = model.feature_names_in_, False
    stopped.save(cut)
    one_line_error(gradfit("fit", path, "--resume", cut, "--zero-based"),
                   r"option --zero-based cannot be changed with --resume: the model file reads its svmlight data as "
                   r"one-based")
    resumed = gradfit("fit", path, "--resume", cut)
    assert resumed.exit_code == 0, resumed.output
    assert not [line for line in resumed.stderr.splitlines() if "note:" in line or "feature names" in line]
    a, b = load_model(whole), load_model(cut)
    assert a.coef_.tolist() == b.coef_.tolist() and a.intercept_ == b.intercept_ and b.n_iter_ == 20
    assert b.svmlight_zero_based_ is False and list(b.feature_names_in_) == list(a.feature_names_in_)


def test_a_model_file_without_a_recorded_base_reads_svmlight_data_from_0(svm, tmp_path):
    X, y, path = svm
    out = tmp_path / "model.json"
    assert gradfit("fit", path, "-o", out, *FLAGS).exit_code == 0
    doc = json.loads(out.read_text())
    doc.update(schema_version=2, feature_names=None)
    del doc["svmlight"]  # as gradfit wrote it before it recorded the base
    out.write_text(json.dumps(doc))
    new = tmp_path / "new.svm"
    new.write_text("0 1:2.5 3:1\n")  # no index 0: still column 1 is x1, as the older model numbered them
    result = gradfit("predict", out, new)
    assert result.exit_code == 0, result.output
    expected = 2.5 * doc["coef"][1] + doc["coef"][3] + doc["intercept"]
    assert float(result.stdout.splitlines()[1]) == pytest.approx(expected, rel=TOL)


def test_a_recorded_base_must_agree_with_the_feature_names(libsvm, tmp_path):
    _, _, path = libsvm
    out = tmp_path / "model.json"
    assert gradfit("fit", path, "-o", out, *FLAGS).exit_code == 0
    doc = json.loads(out.read_text())
    doc["svmlight"]["zero_based"] = True
    out.write_text(json.dumps(doc))
    one_line_error(gradfit("predict", out, path), r"model file .*model\.json: field 'svmlight' says the indices "
                                                  r"count from 0, but the feature_names are")


def test_sparse_x_takes_feature_names_for_the_model_its_history_and_summary(svm):
    X, y, _ = svm
    names = [f"x{j}" for j in range(1, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 epochs are not at the optimum, and need not be
        model = GDRegressor(**SETTINGS, verbose=False).fit(X, y, feature_names=names)
    assert list(model.feature_names_in_) == names and model.history_.feature_names == names
    assert [row.name for row in model.summary().coefficients] == ["const", *names]
    assert "coef[x6]" in model.history_.to_dataframe().columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sparse matrix carries no names: no warning that X lacks them
        model.predict(X)
    with pytest.raises(DataError, match=r"feature_names has 5 names but X has 6 columns"):
        GDRegressor(**SETTINGS, verbose=False).fit(X, y, feature_names=names[:5])
    with pytest.raises(OptionError, match=r"option feature_names is for data without column names"):
        GDRegressor(**SETTINGS, verbose=False).fit(X.toarray(), y, feature_names=names)

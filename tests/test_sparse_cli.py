"""Sparse svmlight/libsvm data from the CLI: ``gradfit fit data.svm`` and ``gradfit predict model.json new.svm``.

References: GDRegressor on the same CSR matrix in Python (same settings and seed: 1e-12), the model's own
predictions in session (1e-12), and the one-line refusals (exit 2).
"""

import gzip
import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from gradfit import GDRegressor
from gradfit.errors import DataError
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

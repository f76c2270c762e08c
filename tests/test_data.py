"""Reading CSV / Parquet and checking data: values read exactly, and one clear line per problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sklearn.datasets

from gradfit.errors import DataError
from gradfit.io.checks import check_arrays
from gradfit.io.data import read_features, read_table
from gradfit.io.datasets import load_diabetes, make_regression_data

CSV = "a,b,y\n1,2.5,3\n2,-1,5\n3,0,4\n"


def test_csv_is_read_exactly(write_file):
    X, y, names = read_table(write_file("d.csv", CSV), target="y")
    assert names == ["a", "b"]
    assert X.dtype == np.float64 and X.tolist() == [[1, 2.5], [2, -1], [3, 0]]
    assert y.tolist() == [3, 5, 4]


def test_features_pick_and_order_columns(write_file):
    X, y, names = read_table(write_file("d.csv", CSV), target="a", features=["y", "b"])
    assert names == ["y", "b"] and X.tolist() == [[3, 2.5], [5, -1], [4, 0]] and y.tolist() == [1, 2, 3]


def test_parquet_gives_the_same_arrays_as_csv(write_file, tmp_path):
    csv = write_file("d.csv", CSV)
    pq.write_table(pa.table({"a": [1, 2, 3], "b": [2.5, -1.0, 0.0], "y": [3, 5, 4]}), tmp_path / "d.parquet")
    for got, want in zip(read_table(tmp_path / "d.parquet", "y"), read_table(csv, "y")):
        np.testing.assert_array_equal(got, want)


def test_read_features_for_predictions(write_file):
    X = read_features(write_file("d.csv", CSV), ["b"])
    assert X.tolist() == [[2.5], [-1], [0]]


BAD_FILES = {
    "missing file": (None, "y", None, r"data file .*nope\.csv does not exist"),
    "empty file": ("", "y", None, r"data file .*d\.csv is empty"),
    "header only": ("a,y\n", "y", None, r"d\.csv has no rows \(0 samples\)"),
    "single row": ("a,y\n1,2\n", "y", None, r"d\.csv has a single row \(1 sample\)"),
    "unknown target": (CSV, "price", None, r"no target column 'price'; its columns are \['a', 'b', 'y'\]"),
    "unknown feature": (CSV, "y", ["a", "c"], r"no feature column 'c'; its columns are \['a', 'b', 'y'\]"),
    "text": ("a,b,y\n1,2,3\n2,two,5\n", "y", None, r"d\.csv: column 'b' is not numeric \(row 2 holds 'two'\)"),
    "text target": ("a,y\n1,3\n2,x\n", "y", None, r"d\.csv: column 'y' is not numeric \(row 2 holds 'x'\)"),
    "missing value": ("a,b,y\n1,2,3\n2,3,5\n3,,4\n", "y", None, r"column 'b' has a missing value \(NaN\) at row 3"),
    "missing target": ("a,y\n1,3\n2,NA\n", "y", None, r"column 'y' has a missing value \(NaN\) at row 2"),
    "infinity": ("a,b,y\n1,2,3\n2,-inf,5\n", "y", None, r"column 'b' has an infinite value \(inf\) at row 2"),
    "ragged": ("a,b,y\n1,2,3\n2,5\n", "y", None, r"data file .*d\.csv cannot be read as csv: CSV parse error"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_get_one_line_naming_the_culprit(case, write_file, tmp_path):
    text, target, features, message = BAD_FILES[case]
    path = tmp_path / "nope.csv" if text is None else write_file("d.csv", text)
    with pytest.raises(DataError, match=message) as info:
        read_table(path, target, features)
    assert "\n" not in str(info.value)


def test_unknown_extension_lists_the_supported_ones(write_file):
    message = r"d\.txt has an unknown extension '\.txt'; gradfit reads \.csv, \.csv\.gz, \.tsv, \.tsv\.gz, \.parquet, \.pq"
    with pytest.raises(DataError, match=message):
        read_table(write_file("d.txt", CSV), "y")


def test_parquet_null_is_a_missing_value(tmp_path):
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": [1.0, 2.0, 3.0]}), tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"d\.parquet: column 'a' has a missing value \(NaN\) at row 2"):
        read_table(tmp_path / "d.parquet", "y")


BAD_ARRAYS = {
    "nan": (np.array([[1.0, 2.0], [3.0, np.nan]]), [1, 2],
            r"X: column 'x1' has a missing value \(NaN\) at row index 1"),
    "inf": (np.array([[np.inf, 2.0], [3.0, 4.0]]), [1, 2],
            r"X: column 'x0' has an infinite value \(inf\) at row index 0"),
    "text in object array": (np.array([[1, "a"], [2, 3]], dtype=object), [1, 2],
                             r"column 'x1' is not numeric \(row index 0 holds 'a'\)"),
    "text in DataFrame": (pd.DataFrame({"size": [1, 2], "city": ["Oslo", "Rome"]}), [1, 2],
                          r"X: column 'city' is not numeric \(row index 0 holds 'Oslo'\)"),
    "nullable NA": (pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}), [1, 2, 3],
                    r"column 'n' has a missing value \(NaN\) at row index 1"),
    "y nan": (np.ones((3, 1)), [1.0, np.nan, 2.0], r"^y has a missing value \(NaN\) at row index 1"),
    "lengths": (np.ones((3, 2)), [1.0, 2.0], r"X has 3 rows but y has 2; they must match"),
    "single row": (np.ones((1, 2)), [1.0], r"X has a single row \(1 sample\); a fit needs at least 2"),
    "no rows": (np.ones((0, 2)), [], r"X has no rows \(0 samples\)"),
}


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_bad_arrays_get_one_line_naming_the_culprit(case):
    X, y, message = BAD_ARRAYS[case]
    with pytest.raises(DataError, match=message):
        check_arrays(X, y)


def test_object_arrays_of_numbers_pass():
    check_arrays(np.array([[1, 2.5], [3, "4"]], dtype=object), np.array([1, 2]))


def test_diabetes_is_sklearns_data_in_original_units():
    data, raw = load_diabetes(), sklearn.datasets.load_diabetes(scaled=False)
    assert data.X.shape == (442, 10) and data.y.shape == (442,)
    assert data.feature_names == list(raw.feature_names) and data.target_name == "progression"
    np.testing.assert_array_equal(data.X, raw.data)
    assert list(data.to_frame().columns) == [*raw.feature_names, "progression"]


def test_synthetic_data_lies_on_its_plane_and_repeats_with_its_seed():
    data = make_regression_data(n=40, d=3, noise=0.0, seed=3)
    np.testing.assert_allclose(data.X @ data.coef + data.intercept, data.y, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(make_regression_data(40, 3, 0.5, 3).y, make_regression_data(40, 3, 0.5, 3).y)
    assert not np.array_equal(make_regression_data(40, 3, 0.5, 3).y, make_regression_data(40, 3, 0.5, 4).y)

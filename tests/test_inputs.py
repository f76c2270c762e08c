"""Data as people have it: compressed and tab-separated files, standard input, folders and globs, --exclude."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gradfit.cli import app
from gradfit.errors import DataError
from gradfit.io.data import read_table

ROWS = [(1.0, 2.0, 7.0, 3.1), (2.0, 1.0, 5.0, 3.9), (3.0, 5.0, 1.0, 8.2), (4.0, 2.0, 8.0, 6.1), (5.0, 5.0, 2.0, 9.8),
        (6.0, 1.0, 3.0, 7.2), (7.0, 3.0, 9.0, 10.1)]
HEADER = ("a", "b", "noise", "y")
runner = CliRunner()


def text(rows, sep=","):
    return sep.join(HEADER) + "\n" + "".join(sep.join(repr(v) for v in row) + "\n" for row in rows)


@pytest.fixture
def reference():
    """X, y of ROWS read from a plain CSV: what every other way of giving them must equal"""
    data = np.array(ROWS)
    return data[:, :3], data[:, 3]


@pytest.mark.parametrize("name, write", [
    ("d.csv.gz", lambda p: p.write_bytes(gzip.compress(text(ROWS).encode()))),
    ("d.tsv", lambda p: p.write_text(text(ROWS, "\t"))),
    ("d.tsv.gz", lambda p: p.write_bytes(gzip.compress(text(ROWS, "\t").encode()))),
])
def test_compressed_and_tab_separated_files_read_like_csv(tmp_path, reference, name, write):
    path = tmp_path / name
    write(path)
    X, y, names = read_table(path, "y")
    assert names == ["a", "b", "noise"]
    np.testing.assert_array_equal(X, reference[0])
    np.testing.assert_array_equal(y, reference[1])


def test_a_folder_and_a_glob_read_every_file_in_name_order(tmp_path, reference):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "1.csv").write_text(text(ROWS[:3]))
    (folder / "2.csv").write_text(text(ROWS[3:]))
    (folder / "notes.txt").write_text("not data")
    for given in (folder, str(folder / "*.csv")):
        X, y, _ = read_table(given, "y")
        np.testing.assert_array_equal(X, reference[0])
        np.testing.assert_array_equal(y, reference[1])


@pytest.mark.parametrize("setup, given, message", [
    (lambda d: None, "{d}/*.csv", r"no data file matches '.*/\*\.csv'"),
    (lambda d: (d / "x.txt").write_text("a"), "{d}", r"data folder .* holds no data files"),
    (lambda d: ((d / "1.csv").write_text("a,y\n1,2\n"), (d / "2.csv").write_text("b,y\n1,2\n")), "{d}",
     r"data file .*2\.csv has the columns \['b', 'y'\], not those of .*1\.csv \(\['a', 'y'\]\)"),
])
def test_folders_and_globs_that_cannot_be_read_get_one_line(tmp_path, setup, given, message):
    setup(tmp_path)
    with pytest.raises(DataError, match=message):
        read_table(given.format(d=tmp_path), "y")


def test_data_that_would_not_fit_in_memory_points_to_dask(tmp_path, monkeypatch):
    (tmp_path / "1.csv").write_text(text(ROWS))
    monkeypatch.setattr("gradfit.io.data.MEMORY_SHARE", 1e-12)
    with pytest.raises(DataError, match=r"needs about .* GiB in memory, more than the .* free; fit it with --engine dask"):
        read_table(str(tmp_path / "*.csv"), "y")


def gradfit_cli(*args, stdin: str | None = None):
    """the installed command in a fresh process (standard input is a real pipe there)"""
    exe = Path(sys.executable).parent / "gradfit"
    return subprocess.run([str(exe), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120)


def test_standard_input_is_data_for_fit_and_predict(tmp_path):
    done = gradfit_cli("fit", "-", "-t", "y", "-q", "-o", tmp_path / "m.json", stdin=text(ROWS))
    assert done.returncode == 0, done.stderr
    shown = gradfit_cli("predict", tmp_path / "m.json", "-", stdin=text(ROWS))
    assert shown.returncode == 0 and shown.stdout.splitlines()[0] == "prediction" and len(shown.stdout.splitlines()) == 8
    empty = gradfit_cli("fit", "-", "-t", "y", "-q", "-o", tmp_path / "n.json", stdin="")
    assert empty.returncode == 2 and empty.stderr == "error: data from standard input (-) is empty\n"
    assert not (tmp_path / "n.json").exists()


def test_exclude_leaves_columns_out(tmp_path):
    (tmp_path / "d.csv").write_text(text(ROWS))
    result = runner.invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--exclude", "noise", "--json",
                                 "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert set(__import__("json").loads(result.stdout)["coef"]) == {"a", "b"}


@pytest.mark.parametrize("args, message", [
    (["--exclude", "nope"], r"error: data file .*d\.csv has no column 'nope' to exclude; its columns are "),
    (["--exclude", "noise", "--features", "a"], r"error: options --features and --exclude both choose the columns"),
])
def test_exclude_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "d.csv").write_text(text(ROWS))
    result = runner.invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", *args, "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert __import__("re").match(message, result.stderr) and not (tmp_path / "m.json").exists()


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"gradfit {version('gradfit')}\n"

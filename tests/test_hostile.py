"""Hostile and unlucky input (issue 15): nothing lost, nothing overwritten, one line and exit 2, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gradfit import GDRegressor, load_model
from gradfit.errors import DataError, OptionError

GOOD = "a,b,y\n1,2,3\n2,1,5\n3,5,4\n4,3,9\n5,1,1\n"

from .helpers import gradfit, one_line_error


def snapshot(folder) -> dict:
    """every file under ``folder`` with its bytes (links as links)"""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = ("link", os.readlink(path)) if os.path.islink(path) else open(
                path, "rb").read()
    return out


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text(GOOD)
    return tmp_path


# ---------------------------------------------------------------- 1. special files and links


def test_out_through_a_symlink_writes_the_target_and_keeps_the_link(work):
    (work / "real.json").write_text("old")
    (work / "link.json").symlink_to("real.json")
    assert gradfit("fit", "in.csv", "-t", "y", "-o", "link.json", "-q").exit_code == 0
    assert (work / "link.json").is_symlink() and load_model(work / "real.json").n_iter_ >= 1


@pytest.fixture
def null_device(tmp_path):
    """a character device that discards what is written: a private node like /dev/null where we may make one
    (as root, so a regression cannot replace the system's own), else /dev/null itself"""
    import stat

    if os.geteuid() == 0:
        node = tmp_path / "null"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return node
    return "/dev/null"


def test_out_to_a_device_writes_into_it_and_leaves_it_a_device(work, null_device):
    result = gradfit("fit", "in.csv", "-t", "y", "-o", null_device, "--history", null_device, "-q")
    assert result.exit_code == 0, result.output
    assert os.path.exists(null_device) and not os.path.isfile(null_device)
    assert sorted(p.name for p in work.iterdir()) == ["in.csv"] + (["null"] if str(null_device) != "/dev/null" else [])


def test_dash_is_standard_output(work):
    result = gradfit("fit", "in.csv", "-t", "y", "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout)["format"] == "gradfit-model"
    gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "-q")
    predicted = gradfit("predict", "m.json", "in.csv", "--out", "-")
    assert predicted.exit_code == 0 and predicted.stdout.startswith("prediction\n")
    one_line_error(gradfit("fit", "in.csv", "-t", "y", "-o", "-", "--json"),
                   r"options --json and --out - both write to standard output")
    one_line_error(gradfit("fit", "in.csv", "-t", "y", "-o", "-", "--history", "-"),
                   r"options --out and --history both write -")


def test_a_fifo_is_written_directly(work):
    os.mkfifo(work / "pipe")
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(open(work / "pipe", "rb").read()))
    reader.start()
    result = gradfit("fit", "in.csv", "-t", "y", "-o", "pipe", "-q")
    reader.join(timeout=60)
    assert result.exit_code == 0 and json.loads(got[0])["format"] == "gradfit-model"
    assert not (work / "pipe").is_file()


# ---------------------------------------------------------------- 2. collisions, refused before any work

COLLISIONS = [
    (["fit", "in.csv", "-t", "y", "--out", "in.csv"], r"option --out in\.csv is the data file in\.csv"),
    (["fit", "in.csv", "-t", "y", "--out", "m.json", "--report", "m.json"],
     r"options --out and --report both write m\.json"),
    (["fit", "in.csv", "-t", "y", "--out", "m.json", "--history", "in.csv"], r"option --history in\.csv is the data"),
    (["fit", "in.csv", "-t", "y", "--out", "alias.csv"], r"option --out alias\.csv is the data file in\.csv"),
    (["fit", "in.csv", "-t", "y", "--out", "./sub/../in.csv"], r"is the data file in\.csv"),
    (["fit", "in.csv", "-t", "y", "--history", "h.csv", "--report", "h.csv"], r"both write h\.csv"),
    (["fit", "in.csv", "-t", "y", "--plots", "in.csv"], r"option --plots in\.csv: it is a file, not a folder"),
    (["fit", "in.csv", "-t", "y", "--out", "sub"], r"option --out sub: it is a folder; give a file name"),
    (["predict", "m0.json", "in.csv", "--out", "m0.json"], r"option --out m0\.json is the model file m0\.json"),
    (["predict", "m0.json", "in.csv", "--out", "in.csv"], r"option --out in\.csv is the data file"),
    (["report", "m0.json", "--out", "m0.json"], r"option --out m0\.json is the model file"),
    (["plot", "m0.json", "--out", "in.csv"], r"option --out in\.csv is the --data file|cannot write a figure"),
    (["fit", "in.csv", "-t", "y", "--resume", "m0.json", "--history", "m0.json", "--out", "x.json"],
     r"option --history m0\.json is the --resume file"),
]


@pytest.mark.parametrize("args, pattern", COLLISIONS, ids=[" ".join(a)[:50] for a, _ in COLLISIONS])
def test_outputs_that_collide_are_refused_and_nothing_changes(args, pattern, work):
    (work / "sub").mkdir()
    (work / "alias.csv").symlink_to("in.csv")
    GDRegressor(epochs=3).fit(np.arange(10.0).reshape(5, 2), np.arange(5.0)).save(work / "m0.json")
    if args[0] == "plot":
        args = [*args, "--data", "in.csv", "-t", "y"]
    before = snapshot(work)
    one_line_error(gradfit(*args), pattern)
    assert snapshot(work) == before


# ---------------------------------------------------------------- 3. all outputs or none


def test_plots_naming_a_file_leaves_no_model(work):
    (work / "p").write_text("a file")
    one_line_error(gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "--plots", "p"), r"--plots p: it is a file")
    assert sorted(p.name for p in work.iterdir()) == ["in.csv", "p"]


def test_unwritable_output_folder_is_named_before_fitting(work, monkeypatch):
    (work / "ro").mkdir()
    real = tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and os.path.basename(str(dir)) == "ro":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    fitted = []
    monkeypatch.setattr(GDRegressor, "fit", lambda self, *a, **k: fitted.append(1))
    one_line_error(gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "--history", "ro/h.csv"),
                   r"option --history ro/h\.csv: cannot write in folder .*ro \(Permission denied\)")
    assert not fitted and sorted(p.name for p in work.iterdir()) == ["in.csv", "ro"]


@pytest.mark.parametrize("failing", ["r.html", "h.csv", "learning_curve.png"])
def test_a_disk_full_output_takes_back_every_file_of_the_command(failing, work, monkeypatch):
    (work / "m.json").write_text("the previous model")
    import gradfit.io.outputs as outputs_module

    real = outputs_module._temporary_beside

    def full(real_path, payload, user_path):
        if real_path.name == failing:
            raise OSError(errno.ENOSPC, "No space left on device", str(user_path))
        return real(real_path, payload, user_path)

    monkeypatch.setattr(outputs_module, "_temporary_beside", full)
    result = gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "--history", "h.csv", "--report", "r.html",
                     "--plots", "plots/deep")
    one_line_error(result, rf"No space left on device: .*{re.escape(failing)}")
    assert snapshot(work) == {"in.csv": GOOD.encode(), "m.json": b"the previous model"}


def test_second_write_to_one_file_in_a_command_is_refused(work):
    (work / "plots").mkdir()
    result = gradfit("fit", "in.csv", "-t", "y", "-o", "plots/learning_curve.png", "--plots", "plots")
    one_line_error(result, r"two outputs of this command write the same file")
    assert snapshot(work) == {"in.csv": GOOD.encode()}


# ---------------------------------------------------------------- 7. input shapes

BAD_DATA = {
    "duplicate names": ("a,a,y\n1,2,3\n2,3,4\n3,1,2\n", [], r"has two columns named 'a' \(columns 1 and 2\)"),
    "duplicate target": ("a,y,y\n1,2,3\n2,3,4\n3,1,2\n", [], r"has two columns named 'y' \(columns 2 and 3\)"),
    "target only": ("y\n1\n2\n3\n", [], r"has no feature columns besides the target 'y'"),
    "features comma": (GOOD, ["--features", ","], r"option --features ',' names no columns"),
    "target among features": (GOOD, ["--features", "a,y"], r"option --features names the target column 'y'"),
    "feature twice": (GOOD, ["--features", "a,a"], r"option --features has two columns named 'a'"),
    "near 1e300": ("a,y\n1e300,1\n2e300,2\n3,3\n", [], r"column 'a' holds 1e\+300 at row 1, too large"),
    "alpha inf": (GOOD, ["--alpha", "inf"], r"option alpha=inf must be a number >= 0"),
    "lr inf": (GOOD, ["--lr", "inf"], r"option lr=inf must be a number > 0"),
    "init nan": (GOOD, ["--init", "nan"], r"option init=nan must be"),
    "step_size 0": (GOOD, ["--schedule", "step", "--schedule-option", "step_size=0"],
                    r"option schedule_options step_size=0\.0 must be an integer >= 1"),
    "gamma -1": (GOOD, ["--schedule", "exponential", "--schedule-option", "gamma=-1"],
                 r"option schedule_options gamma=-1\.0 must be a number in \(0, 1\]"),
    "lr_min negative": (GOOD, ["--schedule", "cosine", "--schedule-option", "lr_min=-1"],
                        r"option schedule_options lr_min=-1\.0 must be a number >= 0"),
    "power_t negative": (GOOD, ["--schedule", "invscaling", "--schedule-option", "power_t=-2"],
                         r"option schedule_options power_t=-2\.0 must be a number >= 0"),
    "lr_min above lr": (GOOD, ["--schedule", "cosine", "--lr", "0.01", "--schedule-option", "lr_min=0.1"],
                        r"lr_min=0\.1 is above the learning rate lr=0\.01"),
    "usage error": (GOOD, ["--batch-size", "many"], r"Invalid value for '--batch-size'.*\(see: gradfit fit --help\)"),
    "epochs not a number": (GOOD, ["--epochs", "many"], r"option epochs='many' must be an integer >= 0 or 'auto'"),
    "unknown option": (GOOD, ["--learning-rate", "1"], r"No such option: --learning-rate"),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_input_shapes_are_one_line(case, work):
    text, options, pattern = BAD_DATA[case]
    (work / "d.csv").write_text(text)
    one_line_error(gradfit("fit", "d.csv", "-t", "y", "-o", "m.json", *options), pattern)
    assert not (work / "m.json").exists()


def test_integers_beyond_2_53_are_read_as_the_nearest_float(work):
    (work / "big.csv").write_text("a,y\n9223372036854775807,1\n-9223372036854775808,2\n3,3\n")
    pq.write_table(pa.table({"a": pa.array([2**64 - 1, 5, 7], pa.uint64()), "y": [1.0, 2.0, 3.0]}), work / "u.parquet")
    for data in ("big.csv", "u.parquet"):
        result = gradfit("fit", data, "-t", "y", "-o", "m.json", "-q", "--preprocess", "standardize")
        assert result.exit_code == 0, result.output


def test_non_utf8_header_and_folders_are_named(work):
    (work / "bad.csv").write_bytes(b"\xff\xfe,y\n1,2\n2,3\n")
    one_line_error(gradfit("fit", "bad.csv", "-t", "y"), r"bad\.csv is not UTF-8 text \(byte 0xff at position 0")
    (work / "dir.csv").mkdir()
    one_line_error(gradfit("fit", "dir.csv", "-t", "y"), r"data folder dir\.csv holds no data files")  # a folder: its files
    one_line_error(gradfit("predict", "dir.csv", "in.csv"), r"model file dir\.csv is a folder")


def test_predict_and_evaluate_on_awkward_files(work):
    gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "-q")
    (work / "head.csv").write_text("a,b,y\n")
    one_line_error(gradfit("predict", "m.json", "head.csv"), r"head\.csv has no rows \(only a header\)")
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "b": pa.array([], pa.float64())}), work / "e.parquet")
    one_line_error(gradfit("predict", "m.json", "e.parquet"), r"e\.parquet has no rows")
    GDRegressor(epochs=2).fit(np.arange(10.0).reshape(5, 2), np.arange(5.0)).save(work / "nameless.json")
    (work / "wide.csv").write_text("a,b,c,y\n1,2,3,4\n2,3,4,5\n")
    one_line_error(gradfit("evaluate", "nameless.json", "wide.csv", "-t", "y"),
                   r"wide\.csv has 3 columns besides the target 'y' but the model takes 2 features")


def test_model_files_with_non_finite_numbers_never_predict_empty_cells(work):
    gradfit("fit", "in.csv", "-t", "y", "-o", "m.json", "-q")
    text = (work / "m.json").read_text()
    doc = json.loads(text)
    (work / "nan.json").write_text(text.replace(json.dumps(doc["intercept"]), "NaN", 1))
    one_line_error(gradfit("predict", "nan.json", "in.csv"), r"nan\.json is not JSON \(NaN is not a JSON number\)")
    doc["coef"] = [1e308, 1e308]
    (work / "huge.json").write_text(json.dumps(doc))
    one_line_error(gradfit("predict", "huge.json", "in.csv"), r"the prediction for row 1 is not a finite number")


def test_math_text_column_names_draw_as_text(work):
    (work / "m.csv").write_text("$a_$,y\n1,2\n2,3\n3,5\n4,4\n")
    result = gradfit("fit", "m.csv", "-t", "y", "-o", "m.json", "--plots", "p", "--report", "r.html", "-q")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "learning_curve.png").exists() and "$a_$" in (work / "r.html").read_text()
    assert gradfit("plot", "m.json", "--kind", "line", "--data", "m.csv", "-t", "y", "-o", "l.png").exit_code == 0


def test_warnings_are_not_printed_before_an_error(work, monkeypatch):
    import gradfit.io.outputs as outputs_module

    def full(real_path, payload, user_path):
        raise OSError(errno.ENOSPC, "No space left on device", str(user_path))

    with monkeypatch.context() as patched:
        patched.setattr(outputs_module, "_temporary_beside", full)
        # the fit warns (far from the optimum), then writing fails: only the error line is printed
        result = gradfit("fit", "in.csv", "-t", "y", "--epochs", "2", "--lr", "1e-4", "-q", "-o", "m.json")
        one_line_error(result, r"No space left on device: m\.json")
    result = gradfit("fit", "in.csv", "-t", "y", "--epochs", "2", "--lr", "1e-4", "-q", "-o", "m.json")
    assert result.exit_code == 0 and result.stderr.startswith("warning: the fit ended at a relative distance of")


# ---------------------------------------------------------------- 7. the API


def _api_cases():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    dates = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=6), "x": np.arange(6.0)})
    twice = pd.DataFrame(X, columns=["a", "a"])
    return {
        "datetime column": (lambda: GDRegressor(epochs=2).fit(dates, y), DataError,
                            r"column 'when' is not numeric \(its type is datetime64"),
        "duplicate names": (lambda: GDRegressor(epochs=2).fit(twice, y), DataError,
                            r"X has two columns named 'a' \(columns 1 and 2\)"),
        "ragged lists": (lambda: GDRegressor(epochs=2).fit([[1.0, 2.0], [3.0]], [1.0, 2.0]), DataError,
                         r"X is ragged: row index 1 has 1 values but row index 0 has 2"),
        "init length": (lambda: GDRegressor(epochs=2, init=([1.0, 2.0, 3.0], 0.0)).fit(X, y), OptionError,
                        r"option init=\(coef, intercept\) needs 2 finite coefficients"),
        "fit_intercept no": (lambda: GDRegressor(fit_intercept="no").fit(X, y), OptionError,
                             r"option fit_intercept='no' must be True or False"),
        "y None": (lambda: GDRegressor().fit(X, None), DataError, r"fit requires y to be passed, but the target y is None"),
        "shuffle maybe": (lambda: GDRegressor(shuffle="maybe").fit(X, y), OptionError,
                          r"option shuffle='maybe' must be True or False"),
        "verbose loud": (lambda: GDRegressor(verbose="loud").fit(X, y), OptionError,
                         r"option verbose='loud' must be True or False"),
        "huge values": (lambda: GDRegressor().fit(X * 1e300, y), DataError, r"column 'x0' holds 2e\+300 at row index 1, too large"),
        "gamma negative": (lambda: GDRegressor(schedule="exponential", schedule_options={"gamma": -1}).fit(X, y),
                           OptionError, r"gamma=-1 must be a number in \(0, 1\]"),
    }


@pytest.mark.parametrize("case", list(_api_cases()))
def test_api_refuses_with_one_line(case):
    call, kind, pattern = _api_cases()[case]
    with pytest.raises(kind, match=pattern) as info:
        call()
    assert "\n" not in str(info.value)

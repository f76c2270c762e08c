"""NIST StRD linear least squares: gradfit's exact answer and summary against the certified values.

Side by side with numpy.linalg.lstsq, scikit-learn LinearRegression and statsmodels OLS (pinv
and qr), scored as LRE (correct significant digits, capped at 15; ``benchmarks/nist.py``,
which also writes the table in benchmarks/RESULTS.md). Tolerance: gradfit has at least the
best peer's digits minus 0.5, for the estimates, standard errors, residual SD and R². The
peers run on this machine's BLAS; a peer can beat the exact answer of the data as stored
only by luck (rounding errors that happen to cancel NIST's decimal-to-binary rounding), so
the estimates are held to the lower of the best peer and that exact answer.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("nist", Path(__file__).parents[1] / "benchmarks" / "nist.py")
nist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nist)

#: digits by which gradfit may trail the best peer
SLACK = 0.5


@pytest.fixture(scope="module")
def rows() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' pinv warns that Filip is singular to it
        return {name: nist.score(name) for name in nist.SETS}


def test_the_files_are_nist_s_unchanged():
    lines = (nist.DATA / "SHA256SUMS").read_text().split("\n")
    sums = dict(reversed(line.split()) for line in lines if line.strip())
    assert set(sums) == {f"{name}.dat" for name in nist.SETS}
    for name, digest in sums.items():
        assert hashlib.sha256((nist.DATA / name).read_bytes()).hexdigest() == digest, name


def test_parser_reads_model_data_and_certified_values():
    longley = nist.load("Longley")
    assert longley.X.shape == (16, 6) and longley.fit_intercept
    assert longley.certified.params[0] == -3482258.63459582 and longley.certified.std_errs[6] == 455.478499142212
    assert longley.certified.resid_sd == 304.854073561965 and longley.certified.r2 == 0.995479004577296
    filip = nist.load("Filip")
    assert filip.X.shape == (82, 10) and filip.X[0, 9] == pytest.approx((-6.860120914) ** 10, rel=1e-15)
    noint = nist.load("NoInt1")
    assert not noint.fit_intercept and noint.certified.params.tolist() == [2.07438016528926]
    assert nist.load("Wampler1").certified.resid_sd == 0.0


def test_lre_counts_agreeing_digits():
    assert nist.lre(1.0001, 1.0) == pytest.approx(4.0)
    assert nist.lre([1.0, 2.0 + 2e-9], [1.0, 2.0]) == pytest.approx(9.0)
    assert nist.lre(1e-7, 0.0) == pytest.approx(7.0)  # a certified zero: absolute error
    assert nist.lre(np.nan, 1.0) == 0.0 and nist.lre(1.0, 1.0) == nist.MAX_LRE


@pytest.mark.parametrize("name", nist.SETS)
def test_estimates_are_as_accurate_as_the_best_peer(rows, name):
    r = rows[name]
    assert r.gradfit.params >= min(nist.best_peer(r, "params"), r.stored) - SLACK, r
    # and gradfit's answer is the exact answer of the data as stored, to the digits it promises
    assert r.promised >= 13.0 and r.against_stored >= r.promised - SLACK, r


@pytest.mark.parametrize("field", ["std_errs", "resid_sd", "r2"])
@pytest.mark.parametrize("name", nist.SETS)
def test_summary_statistics_are_as_accurate_as_the_best_peer(rows, name, field):
    r = rows[name]
    peers = nist.STAT_PEERS if field == "std_errs" else nist.PEERS
    assert getattr(r.gradfit, field) >= nist.best_peer(r, field, peers) - SLACK, r


def test_filip_is_solved_at_full_rank(rows):
    """degree 10 in x: condition ~1e19 for the normal equations; numpy and statsmodels' pinv truncate it"""
    assert rows["Filip"].method == "qr+refinement"
    assert rows["Filip"].gradfit.params >= 7.0 and rows["Filip"].gradfit.std_errs >= 6.0


def test_benchmark_script_prints_the_tables(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nist.main()
    out = capsys.readouterr().out
    assert out.count("| Filip |") == 2 and "statsmodels qr" in out and "data as stored" in out

"""NIST StRD linear least squares: gradfit's exact answer beside numpy, scikit-learn and statsmodels.

    python benchmarks/nist.py            the tables, as Markdown (the "NIST StRD accuracy" section)

Each of NIST's eleven certified problems (``tests/data/nist``, see its README) is solved by
gradfit (``GDRegressor(epochs=0)``: its ``exact_`` answer and ``summary()``) and by the peers a
Python user would reach for: ``numpy.linalg.lstsq``, scikit-learn ``LinearRegression`` and
statsmodels ``OLS`` (``method="pinv"`` and ``"qr"``). Accuracy is the log relative error
(LRE, correct significant digits) against the certified values, the smallest over the
coefficients (McCullough 1998); a certified zero is scored by the log absolute error. LREs are
capped at 15, the digits NIST prints. ``tests/test_nist.py`` asserts on the same numbers.
"""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "nist"
SETS = ("Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
        "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5")
#: polynomial degree in x of each one-predictor set (Longley uses its six columns as they are)
DEGREE = {"Norris": 1, "NoInt1": 1, "NoInt2": 1, "Pontius": 2, "Filip": 10, **{f"Wampler{i}": 5 for i in range(1, 6)}}
#: the digits NIST prints: agreement beyond them cannot be told apart
MAX_LRE = 15.0
PEERS = ("numpy lstsq", "sklearn LinearRegression", "statsmodels pinv", "statsmodels qr")
#: the peers that report standard errors
STAT_PEERS = ("statsmodels pinv", "statsmodels qr")


class Certified(NamedTuple):
    """NIST's certified values: parameters B0.. (B1.. without intercept), their SDs, residual SD, R²"""

    params: np.ndarray
    std_errs: np.ndarray
    resid_sd: float
    r2: float


class Problem(NamedTuple):
    """one NIST problem: the design's columns (no constant), y, whether the model has B0, and the answer"""

    name: str
    X: np.ndarray
    y: np.ndarray
    fit_intercept: bool
    certified: Certified


class Answer(NamedTuple):
    """what a solver reports: parameters in NIST's order (B0 first when there is one); None where it has none"""

    params: np.ndarray
    std_errs: np.ndarray | None
    resid_sd: float | None
    r2: float | None


class Digits(NamedTuple):
    """LREs of one answer: the least over parameters, standard errors, residual SD, R²"""

    params: float
    std_errs: float | None
    resid_sd: float | None
    r2: float | None


def _line_range(text: str, label: str) -> tuple[int, int]:
    match = re.search(rf"{label}\s*\(lines\s+(\d+)\s+to\s+(\d+)\)", text)
    if match is None:
        raise ValueError(f"no '{label} (lines a to b)' in the header")
    return int(match.group(1)), int(match.group(2))


def parse(path: Path) -> tuple[Certified, np.ndarray, bool]:
    """(certified values, data table with y first, whether the model has B0) of a NIST .dat file"""
    text = path.read_text()
    lines = text.splitlines()
    c0, c1 = _line_range(text, "Certified Values")
    d0, d1 = _line_range(text, "Data")
    block = lines[c0 - 1 : c1]
    rows = [ln.split() for ln in block if re.match(r"\s*B\d+\s", ln)]
    names = [r[0] for r in rows]
    est = np.array([float(r[1]) for r in rows])
    sds = np.array([float(r[2]) for r in rows])
    resid_sd = float(next(ln.split()[-1] for ln in block if "Standard Deviation" in ln and "Residual" not in ln
                          and not re.search(r"Parameter|of Estimate", ln)))
    r2 = float(next(ln.split()[-1] for ln in block if "R-Squared" in ln))
    data = np.array([[float(v) for v in ln.split()] for ln in lines[d0 - 1 : d1]])
    return Certified(est, sds, resid_sd, r2), data, names[0] == "B0"


def load(name: str) -> Problem:
    """NIST problem ``name`` with its model's design: powers of x, or Longley's columns"""
    certified, data, intercept = parse(DATA / f"{name}.dat")
    y, x = data[:, 0], data[:, 1:]
    X = x if name == "Longley" else x[:, [0]] ** np.arange(1, DEGREE[name] + 1)
    return Problem(name, X, y, intercept, certified)


def lre(estimate, certified) -> float:
    """the least number of agreeing digits: −log10 |e − c| / |c| (|e − c| where c = 0), capped"""
    e, c = np.atleast_1d(np.asarray(estimate, dtype=np.float64)), np.atleast_1d(np.asarray(certified))
    err = np.abs(e - c) / np.where(c == 0.0, 1.0, np.abs(c))
    with np.errstate(divide="ignore"):
        digits = np.where(np.isfinite(e), -np.log10(err), 0.0)
    return float(np.clip(digits, 0.0, MAX_LRE).min()) + 0.0  # + 0.0: no "-0.0"


def digits(answer: Answer, certified: Certified) -> Digits:
    def score(value, ref):
        return None if value is None else lre(value, ref)

    return Digits(lre(answer.params, certified.params), score(answer.std_errs, certified.std_errs),
                  score(answer.resid_sd, certified.resid_sd), score(answer.r2, certified.r2))


def _design(p: Problem) -> np.ndarray:
    return np.column_stack([np.ones(len(p.y)), p.X]) if p.fit_intercept else p.X


def rational_lstsq(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """the least-squares answer of the float64 data as stored, in exact rational arithmetic, rounded once

    Parameters in NIST's order (the intercept first). What no float64 solver can beat: the
    digits it has against NIST's values are those the data kept when it was stored in binary.
    """
    D = [([Fraction(1)] if fit_intercept else []) + [Fraction(float(v)) for v in row] for row in X]
    t = [Fraction(float(v)) for v in y]
    k = len(D[0])
    M = [[sum(r[a] * r[b] for r in D) for b in range(k)] + [sum(r[a] * ti for r, ti in zip(D, t))] for a in range(k)]
    for c in range(k):  # Gauss-Jordan elimination of the normal equations, exactly
        M[c] = [v / M[c][c] for v in M[c]]
        for r in range(k):
            if r != c and M[r][c] != 0:
                M[r] = [a - M[r][c] * b for a, b in zip(M[r], M[c])]
    return np.array([float(row[k]) for row in M])


def _r2(p: Problem, resid: np.ndarray) -> float:
    """R² as NIST defines it: about the mean with B0, uncentered without"""
    yc = p.y - p.y.mean() if p.fit_intercept else p.y
    return 1.0 - float(resid @ resid) / float(yc @ yc)


def _from_residuals(p: Problem, params: np.ndarray) -> Answer:
    resid = p.y - _design(p) @ params
    return Answer(params, None, math.sqrt(float(resid @ resid) / (len(p.y) - len(params))), _r2(p, resid))


def numpy_lstsq(p: Problem) -> Answer:
    return _from_residuals(p, np.linalg.lstsq(_design(p), p.y, rcond=None)[0])


def sklearn_linear_regression(p: Problem) -> Answer:
    from sklearn.linear_model import LinearRegression

    est = LinearRegression(fit_intercept=p.fit_intercept).fit(p.X, p.y)
    params = np.r_[est.intercept_, est.coef_] if p.fit_intercept else est.coef_
    return _from_residuals(p, params)


def statsmodels_ols(method: str) -> Callable[[Problem], Answer]:
    def solve(p: Problem) -> Answer:
        import statsmodels.api as sm

        res = sm.OLS(p.y, _design(p)).fit(method=method)
        return Answer(np.asarray(res.params), np.asarray(res.bse), math.sqrt(res.scale), float(res.rsquared))

    return solve


def gradfit_answer(p: Problem) -> tuple[Answer, object]:
    """gradfit's exact answer and summary (statistics at the exact answer), and the ExactSolution"""
    from gradfit.estimator import GDRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a zero-epoch fit is far from its optimum: that warning is expected
        model = GDRegressor(epochs=0, fit_intercept=p.fit_intercept, preprocess="none").fit(p.X, p.y)
        s = model.summary()
    exact = model.exact_
    params = np.r_[exact.intercept, exact.coef] if p.fit_intercept else np.asarray(exact.coef)
    se = np.array([c.std_err if c.std_err is not None else np.nan for c in s.coefficients])
    return Answer(params, se, s.resid_std_err, s.rsquared), exact


SOLVERS: dict[str, Callable[[Problem], Answer]] = {
    "numpy lstsq": numpy_lstsq,
    "sklearn LinearRegression": sklearn_linear_regression,
    "statsmodels pinv": statsmodels_ols("pinv"),
    "statsmodels qr": statsmodels_ols("qr"),
}


class Row(NamedTuple):
    """one problem's scores: gradfit's, each peer's, the method gradfit used with its promise, and the ceiling"""

    name: str
    gradfit: Digits
    peers: dict
    method: str
    promised: float | None  # digits gradfit promises for the data as stored (ExactSolution.digits)
    against_stored: float  # LRE of gradfit's answer against the exact answer of the data as stored
    stored: float  # LRE of the exact answer of the data as stored: what float64 data leaves to any solver


def score(name: str) -> Row:
    p = load(name)
    ours, exact = gradfit_answer(p)
    peers = {peer: digits(SOLVERS[peer](p), p.certified) for peer in PEERS}
    stored = rational_lstsq(p.X, p.y, p.fit_intercept)
    return Row(name, digits(ours, p.certified), peers, exact.method, exact.digits, lre(ours.params, stored),
               lre(stored, p.certified.params))


def best_peer(row: Row, field: str, peers=PEERS) -> float:
    return max(getattr(row.peers[k], field) for k in peers if getattr(row.peers[k], field) is not None)


def _cell(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def markdown(rows: list[Row]) -> str:
    """the RESULTS.md section's tables"""
    head = ("| set | gradfit | " + " | ".join(PEERS) + " | best peer | data as stored | gradfit method "
            "| promised | gradfit vs stored |")
    out = ["### Estimates (LRE of the parameters, least over B0..Bk)", "", head,
           "|---" * (len(PEERS) + 7) + "|"]
    for r in rows:
        out.append(f"| {r.name} | **{_cell(r.gradfit.params)}** | "
                   + " | ".join(_cell(r.peers[k].params) for k in PEERS)
                   + f" | {_cell(best_peer(r, 'params'))} | {_cell(r.stored)} | {r.method} | {_cell(r.promised)}"
                   f" | {_cell(r.against_stored)} |")
    out += ["", "### Standard errors, residual SD, R² (LRE; gradfit's summary() against statsmodels)", "",
            "| set | SE gradfit | SE " + " | SE ".join(STAT_PEERS) + " | resid SD gradfit | resid SD best peer"
            " | R² gradfit | R² best peer |", "|---" * (6 + len(STAT_PEERS)) + "|"]
    for r in rows:
        out.append(f"| {r.name} | **{_cell(r.gradfit.std_errs)}** | "
                   + " | ".join(_cell(r.peers[k].std_errs) for k in STAT_PEERS)
                   + f" | **{_cell(r.gradfit.resid_sd)}** | {_cell(best_peer(r, 'resid_sd'))}"
                   f" | **{_cell(r.gradfit.r2)}** | {_cell(best_peer(r, 'r2'))} |")
    return "\n".join(out)


def main() -> None:
    import platform

    import sklearn
    import statsmodels

    print(f"machine: {platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, statsmodels {statsmodels.__version__}\n")
    print(markdown([score(name) for name in SETS]))


if __name__ == "__main__":
    main()

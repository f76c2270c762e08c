"""Shared test helpers: data makers, history comparison and statsmodels' figures, at stated tolerances."""

from __future__ import annotations

import re
import time

import numpy as np
from typer.testing import CliRunner

from gradfit.cli import app
from gradfit.inference.summary_table import Summary
from gradfit.training.history import FIELDS


def uncentered_data(n=40, d=3, seed=0, noise=0.1):
    """features with non-zero means, so no gradient coordinate is identically zero"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 2.0, d) + np.linspace(1.0, 3.0, d)
    w = np.linspace(-1.5, 2.0, d)
    y = X @ w + 0.7 + noise * rng.normal(size=n)
    return X, y


def assert_same_history(h1, h2, rtol=1e-9, fields=("loss", "coef", "intercept", "grad_norm", "lr")):
    """every recorded value agrees to ``rtol`` relative to the scale of its column"""
    assert len(h1) == len(h2), (len(h1), len(h2))
    assert h1.epoch == h2.epoch and h1.step == h2.step
    for name in fields:
        a = np.asarray(h1.columns[name], dtype=np.float64)
        b = np.asarray(h2.columns[name], dtype=np.float64)
        scale = max(np.abs(a).max(initial=0.0), 1e-300)
        np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * scale, err_msg=name)


assert set(FIELDS) >= {"loss", "coef", "intercept", "grad_norm", "lr"}


runner = CliRunner()


def gradfit(*args):
    """run the ``gradfit`` command in this process (each argument as a string)"""
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, pattern: str) -> None:
    """the command failed with exit status 2 and one line on stderr, ``error: ...`` matching ``pattern``"""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.output


def wait_until(condition, seconds: float = 60.0) -> None:
    """poll ``condition()`` every 0.2 s until it holds or ``seconds`` pass (a wait for another process's
    output, never a measure of time: what the test asserts comes after)"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


def offset_data(n=200, seed=1, noise=1.0):
    """features with sizeable means and mixed scales, so the uncentered algebra would cancel"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -50.0, 2.0, 30.0]
    y = X @ [1.5, -0.25, 4.0, 0.0] + 7.0 + noise * rng.normal(size=n)
    return X, y


#: statsmodels' figures are matched to this (relative)
STATS_RTOL = 1e-8


def reference_figures(res) -> dict:
    """every statsmodels figure the Summary reports, by Summary field name"""
    ci = np.asarray(res.conf_int())
    return {
        "nobs": res.nobs, "df_model": res.df_model, "df_resid": res.df_resid, "rsquared": res.rsquared,
        "rsquared_adj": res.rsquared_adj, "fvalue": res.fvalue, "f_pvalue": res.f_pvalue, "ssr": res.ssr,
        "resid_std_err": np.sqrt(res.scale), "llf": res.llf, "aic": res.aic, "bic": res.bic,
        "condition_number": res.condition_number, "coef": res.params, "std_err": res.bse,
        "statistic": res.tvalues, "p_value": res.pvalues, "ci_low": ci[:, 0], "ci_high": ci[:, 1],
    }


def our_figures(s: Summary) -> dict:
    columns = ("coef", "std_err", "statistic", "p_value", "ci_low", "ci_high")
    out = {k: getattr(s, k) for k in ("nobs", "df_model", "df_resid", "rsquared", "rsquared_adj", "fvalue",
                                      "f_pvalue", "ssr", "resid_std_err", "llf", "aic", "bic", "condition_number")}
    out.update({c: np.array([getattr(row, c) for row in s.coefficients], dtype=np.float64) for c in columns})
    return out


def assert_matches_statsmodels(s: Summary, res) -> None:
    ours = our_figures(s)
    for name, expected in reference_figures(res).items():
        np.testing.assert_allclose(ours[name], expected, rtol=STATS_RTOL, atol=0, err_msg=name)


# the plot tests' data: the tutorials' hours and points, heights and weights
HOURS = np.array([[1.0], [2.0], [3.0]])
POINTS = np.array([1.0, 2.0, 3.0])
HEIGHT = np.array([166.0, 176.0, 171.0, 173.0, 169.0])
WEIGHT = np.array([58.7, 75.7, 62.1, 70.4, 60.1])
#: the first bytes of a PNG file
PNG = b"\x89PNG\r\n\x1a\n"


def by_gid(ax, gid):
    """the lines of ``ax`` with this gid (how the plots tag what they draw)"""
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def texts_outside_the_figure(fig) -> list[str]:
    """what is drawn (partly) outside the figure when it is saved: axes with their texts, figure legends, titles"""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    parts = [(ax.get_title() or ax.get_label() or "axes", ax.get_tightbbox(renderer)) for ax in fig.axes]
    parts += [("figure legend", legend.get_window_extent(renderer)) for legend in fig.legends]
    if fig._suptitle is not None:
        parts.append((fig._suptitle.get_text(), fig._suptitle.get_window_extent(renderer)))
    width, height = fig.bbox.width, fig.bbox.height
    return [name for name, box in parts
            if box.x0 < -1 or box.x1 > width + 1 or box.y0 < -1 or box.y1 > height + 1]


#: overfitting by plain gradient descent: 75 training rows for 60 features, 3 of which matter
OVERFIT_SETTINGS = dict(early_stopping=True, validation_fraction=0.25, n_iter_no_change=20, lr=0.02, momentum=0.0,
                        epochs=2000, seed=0)


def overfit_data(n=100, d=60, seed=0):
    """many features of which three matter, and noise: a fit on 75 of the rows overfits"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[:3] = [2.0, -1.0, 1.5]
    return X, X @ w + 0.7 + 1.5 * rng.normal(size=n)


def mse_at(X, y, coef, intercept) -> float:
    """the mean squared error of a linear model on (X, y)"""
    return float(np.mean((X @ np.asarray(coef) + intercept - y) ** 2))


def record_calls(monkeypatch, owner, name: str, record=lambda *args, **kwargs: 1) -> list:
    """replace ``owner.name`` by a wrapper that appends ``record(*args, **kwargs)`` to the list it returns, then
    calls the original"""
    calls = []
    real = getattr(owner, name)

    def recording(*args, **kwargs):
        calls.append(record(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls

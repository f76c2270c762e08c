"""Shared test helpers: data makers and history comparison at a stated tolerance."""

from __future__ import annotations

import re
import time

import numpy as np
from typer.testing import CliRunner

from gradfit.cli import app
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

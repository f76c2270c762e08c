"""Shared fixtures: small data files written on demand, the plot tests' fits, a Dask cluster."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gradfit import fit
from gradfit.training.config import FitConfig

from .helpers import HEIGHT, HOURS, POINTS, WEIGHT


@pytest.fixture
def write_file(tmp_path):
    """write_file(name, text) -> path of a new file in the test's folder"""

    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def plane_csv(write_file):
    """a CSV of 30 rows, y = 2·a − 3·b + 1 + small noise, columns a, b, y"""
    rng = np.random.default_rng(0)
    a, b = rng.normal(2.0, 1.0, 30), rng.normal(-1.0, 2.0, 30)
    y = 2.0 * a - 3.0 * b + 1.0 + 0.01 * rng.normal(size=30)
    rows = "".join(f"{ai!r},{bi!r},{yi!r}\n" for ai, bi, yi in zip(a.tolist(), b.tolist(), y.tolist()))
    return write_file("plane.csv", "a,b,y\n" + rows)


@pytest.fixture(autouse=True)
def _close_figures():
    """close every Matplotlib figure a test opened (only where pyplot is in use)"""
    yield
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


@pytest.fixture(scope="module")
def client():
    """a LocalCluster of two single-threaded worker processes, one per test module that asks for it"""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def hypothesis():
    """the 'hypothesis' lesson: H(x) = Wx, W from 0, lr 0.15, 10 epochs"""
    return fit(HOURS, POINTS, FitConfig(fit_intercept=False, lr=0.15, epochs=10, preprocess="none", tol=None))


@pytest.fixture(scope="module")
def heights():
    return fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.1, epochs=30, preprocess="standardize"))


@pytest.fixture(scope="module")
def three():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3)) + [1.0, -2.0, 0.5]
    y = X @ [1.5, -0.5, 2.0] + 0.7 + 0.3 * rng.normal(size=60)
    result = fit(X, y, FitConfig(lr=0.05, epochs=25, batch_size=16, seed=0), feature_names=["a", "b2", "c"])
    return result, X, y


@pytest.fixture(scope="module")
def long_names():
    """a long fit on features with long names: long legend entries and a long title"""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    y = X @ [2.0, -1.0, 0.5] + 3.0 + 0.1 * rng.normal(size=80)
    names = ["body_mass_index", "blood_pressure", "serum_cholesterol"]
    return fit(X, y, FitConfig(lr=0.01, epochs=1500, seed=0), feature_names=names), X, y

"""The data sets a learner can pick in the playground: the five tutorials', the diabetes data, or a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..io.data import read_table
from ..io.datasets import load_diabetes


class PlayData(NamedTuple):
    """rows to fit: X (n, d), y (n,), the names, whether the tutorial fits a bias, and its settings"""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    fit_intercept: bool = True
    preset: dict = {}


def _columns(*columns) -> np.ndarray:
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])


def tutorial_sets() -> dict[str, PlayData]:
    """the data of the five lessons, in the tutorials' own numbers, and the diabetes data"""
    diabetes = load_diabetes()
    scratch_x = np.arange(-50.0, 50.0)
    sets = [
        PlayData("hypothesis", _columns([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), ["hours"], "points", False,
                 dict(lr=0.15, epochs=10, preprocess="none", loss="mse", batch=None)),
        PlayData("autograd", _columns([166.0, 176.0, 171.0, 173.0, 169.0]), np.array([58.7, 75.7, 62.1, 70.4, 60.1]),
                 ["height"], "weight", True, dict(lr=0.001, epochs=500, preprocess="center", loss="mse", batch=None)),
        PlayData("zero-grad", _columns([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), ["x"], "y", True,
                 dict(lr=0.01, epochs=2000, preprocess="none", loss="mse", batch=None)),
        PlayData("from-scratch", _columns(scratch_x), 20.0 * scratch_x + 5.0, ["x"], "y", True,
                 dict(lr=0.001, epochs=100, preprocess="none", loss="mse", batch=20)),
        PlayData("neuron", diabetes.X[:, [2]], diabetes.y, ["bmi"], diabetes.target_name, True,
                 dict(lr=0.1, epochs=5, preprocess="standardize", loss="half_mse", batch=1)),
        PlayData("diabetes", diabetes.X, diabetes.y, list(diabetes.feature_names), diabetes.target_name, True,
                 dict(lr=0.1, epochs=100, preprocess="standardize", loss="mse", batch=None)),
    ]
    return {data.name: data for data in sets}


def read_csv(path: str | Path, target: str, features: list[str] | None = None) -> PlayData:
    """a user's CSV or Parquet file: the target column and the chosen feature columns (default: all others)"""
    X, y, names = read_table(path, target, features)
    return PlayData(Path(path).stem, np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
                    [str(n) for n in names], target, True,
                    dict(lr=0.1, epochs=100, preprocess="standardize", loss="mse", batch=None))

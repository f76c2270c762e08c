"""Small datasets to try gradfit on: scikit-learn's bundled diabetes data and synthetic lines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sklearn.datasets

__all__ = ["Dataset", "load_diabetes", "make_regression_data"]


@dataclass
class Dataset:
    """a feature matrix, a target and their names (plus the true parameters of synthetic data)"""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str = "y"
    coef: np.ndarray | None = None
    intercept: float | None = None
    description: str = field(default="", repr=False)

    def to_frame(self):
        """a pandas DataFrame with the features and the target as columns"""
        import pandas as pd

        frame = pd.DataFrame(self.X, columns=self.feature_names)
        frame[self.target_name] = self.y
        return frame


def load_diabetes() -> Dataset:
    """The diabetes data bundled with scikit-learn, in its original units.

    442 patients, 10 baseline variables (age, sex, body mass index, blood pressure and
    six blood serum measurements s1..s6) and a measure of disease progression one year
    later (the target). Efron, Hastie, Johnstone and Tibshirani (2004), "Least Angle
    Regression". Read from the files inside scikit-learn: no download.

    Returns
    -------
    Dataset
        ``X`` of shape (442, 10), ``y`` of shape (442,), ``feature_names`` (10 names),
        ``target_name`` "progression".

    Examples
    --------
    >>> data = load_diabetes()
    >>> data.X.shape, data.feature_names[:3]
    ((442, 10), ['age', 'sex', 'bmi'])
    """
    raw = sklearn.datasets.load_diabetes(scaled=False)
    return Dataset(np.asarray(raw.data, dtype=np.float64), np.asarray(raw.target, dtype=np.float64),
                   list(raw.feature_names), "progression", description=raw.DESCR)


def make_regression_data(n: int = 100, d: int = 3, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Points around a known plane: y = X·coef + intercept + noise·ε, ε ~ N(0, 1).

    Parameters
    ----------
    n, d : int
        Number of rows and of features.
    noise : float
        Standard deviation of the noise added to y.
    seed : int
        Seed of the random generator; the same seed gives the same data.

    Returns
    -------
    Dataset
        ``X`` of shape (n, d) with columns x0..x{d-1} of different means and scales,
        ``y`` of shape (n,), and the true ``coef`` (shape (d,)) and ``intercept``.

    Examples
    --------
    >>> data = make_regression_data(n=50, d=2, noise=0.0, seed=1)
    >>> bool(np.allclose(data.X @ data.coef + data.intercept, data.y))
    True
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(1.0, 3.0, d) + np.linspace(0.5, 2.0, d)
    coef = rng.uniform(-2.0, 2.0, size=d)
    intercept = float(rng.uniform(-1.0, 1.0))
    y = X @ coef + intercept + noise * rng.normal(size=n)
    return Dataset(X, y, [f"x{j}" for j in range(d)], "y", coef, intercept)

"""The benchmarks' synthetic regression data."""

import numpy as np


def make_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = X·w + 0.5 + noise, X standard normal (n × d float64); no temporaries the size of X"""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 + 0.5 * rng.standard_normal(n)
    return X, y

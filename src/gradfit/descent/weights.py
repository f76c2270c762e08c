"""Sample weights: the one check of a weight vector, and the convention every engine follows.

The objective of a weighted fit is that of weighted least squares (statsmodels' WLS,
scikit-learn's ``sample_weight``)::

    Σᵢ wᵢ·loss(rᵢ) / Σᵢ wᵢ   (+ the penalty)

Engines hold the weights scaled to mean 1, w̃ᵢ = wᵢ·n / Σw (``normalized``), and weigh
each row's term by w̃ᵢ in every sum: a full pass is the mean of w̃ᵢ·loss(rᵢ) (the
objective above), a minibatch B steps along Σ_{i∈B} w̃ᵢ·∇loss(rᵢ) / |B| (an unbiased
estimate of the full gradient when B is drawn at random), a per-sample step along
w̃ᵢ·∇loss(rᵢ). So weights that are all equal change nothing, and integer weights are the
same as repeating rows: exactly (up to rounding) for the full batch and the exact answer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import DataError

__all__ = ["WeightInfo", "check_weights", "problem", "normalized", "info"]


class WeightInfo(NamedTuple):
    """what the statistics keep of the weights of a weighted fit (never the weights themselves)"""

    #: Σ w̃ over the rows these statistics cover (n when they cover all rows)
    total: float
    #: mean of the weights as given (w̃ = w / mean): WLS sums of squares are in the given weights' units
    mean: float
    #: Σ log w of the weights as given (−inf when a weight is 0): the WLS log-likelihood's term
    log_sum: float


def check_weights(sample_weight, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 vector of ``n_rows`` weights; DataError (one line) for unusable ones

    A single number is the same weight for every row; None means unweighted (None is returned).
    """
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("sample_weight must be numbers, one per row") from None
    if w.ndim == 0:
        w = np.full(n_rows, float(w))
    elif w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1:
        raise DataError(f"sample_weight must be one number per row; got an array of shape {w.shape}")
    if len(w) != n_rows:
        raise DataError(f"sample_weight has {len(w)} values but X has {n_rows} rows")
    found = problem(w)
    if found is not None:
        at, what = found
        raise DataError(f"sample_weight{'' if at is None else f'[{at}]'} {what}")
    return w


def problem(w: np.ndarray) -> tuple[int | None, str] | None:
    """(index of the first bad weight or None for all of them, what is wrong) or None when the weights are usable"""
    bad = np.flatnonzero(~np.isfinite(w))
    if len(bad):
        return int(bad[0]), f"is {w[bad[0]]}: weights must be finite numbers"
    negative = np.flatnonzero(w < 0.0)
    if len(negative):
        return int(negative[0]), f"is {w[negative[0]]:g}: weights must be >= 0"
    with np.errstate(over="ignore"):
        total = w.sum()
    if not total > 0.0:
        return None, "is all zeros: at least one row needs a positive weight"
    if not np.isfinite(total):
        return None, "sums to more than a float64 holds: scale the weights down (only their ratios matter)"
    return None


def normalized(w: np.ndarray | None) -> np.ndarray | None:
    """the weights scaled to mean 1 (w̃ = w·n / Σw), as engines hold them; None stays None"""
    if w is None:
        return None
    return w * (len(w) / w.sum())


def info(w: np.ndarray) -> WeightInfo:
    """the WeightInfo of all rows' weights as given"""
    with np.errstate(divide="ignore"):
        log_sum = float(np.log(w).sum())
    return WeightInfo(float(len(w)), float(w.mean()), log_sum)

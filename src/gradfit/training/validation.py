"""Held-out data: the seeded split, the validation loss, and the record of the best epoch.

With ``early_stopping=True`` a fit sets aside ``validation_fraction`` of its rows (a seeded
split, as scikit-learn's SGDRegressor does) or takes the ``validation_data`` it is given,
measures the validation loss after every epoch, and stops once that loss has not improved
for ``n_iter_no_change`` epochs; it returns the parameters of the epoch where the
validation loss was lowest. The validation loss is the training loss (the same formula,
without the penalty) of those rows, in the data's units, computed on the host from the
parameters, so every engine gets it the same way. The stopping rule itself is the training
loop's (``train.Loop._validate``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..descent.losses import Loss
from ..errors import DataError, OptionError
from ..io.checks import check_X

#: the seed stream of the split (the epochs' shuffles use [seed, epoch]; this one is apart from them)
SPLIT_STREAM = 0x5EED_0FF


class Split(NamedTuple):
    """row indices of a seeded split, each in increasing order"""

    train: np.ndarray
    val: np.ndarray


class Best(NamedTuple):
    """the epoch (of those run, from 1) whose parameters had the lowest validation loss so far"""

    epoch: int
    val_loss: float
    loss: float  # the training objective there
    coef: list[float]
    intercept: float


def best_from_dict(data: dict) -> Best:
    """a Best from a model file's checked fields (null stands for a value that was not finite)"""
    return Best(int(data["epoch"]), _number(data["val_loss"]), _number(data["loss"]),
                [float(w) for w in data["coef"]], float(data["intercept"]))


def _number(value) -> float:
    return math.nan if value is None else float(value)


class HeldOutResult(NamedTuple):
    """what the held-out rows decided: the best epoch, and the last parameters beside it"""

    best: Best  # the epoch with the lowest validation loss
    restored: bool  # the fit returns the best epoch's parameters (early stopping)
    last_coef: list[float]  # the parameters the descent ended at
    last_intercept: float
    n_rows: int  # held-out rows

    def to_dict(self) -> dict:
        return {**self._asdict(), "best": self.best._asdict()}

    @classmethod
    def from_dict(cls, data: dict) -> "HeldOutResult":
        return cls(best_from_dict(data["best"]), bool(data["restored"]), [float(w) for w in data["last_coef"]],
                   float(data["last_intercept"]), int(data["n_rows"]))


def split_rows(n_rows: int, fraction: float, seed: int) -> Split:
    """ceil(fraction·n) rows drawn at random (seeded) for validation, the others for training.

    A weight vector, or any per-row array, is split alongside with the same indices.
    """
    n_val = math.ceil(fraction * n_rows)
    if n_rows - n_val < 2:
        raise OptionError(f"option validation_fraction={fraction:g} leaves {n_rows - n_val} of the {n_rows} rows "
                          f"for training; a fit needs at least 2 (lower it)")
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(n_rows)
    return Split(np.sort(order[n_val:]), np.sort(order[:n_val]))


def take_rows(a, rows: np.ndarray):
    """the rows ``rows`` of an array, DataFrame, Series, sparse matrix or Dask array"""
    if hasattr(a, "iloc"):
        return a.iloc[rows]
    if not hasattr(a, "shape"):
        a = np.asarray(a)
    return a[rows]


class HeldOut:
    """held-out rows and the loss that measures parameters on them (the data's units, no penalty)

    ``weight``: one non-negative number per row (None: all rows count the same); the
    validation loss is then the weighted mean.
    """

    def __init__(self, X, y, loss: Loss, weight=None):
        self.X, self.y, self.loss = X, np.asarray(y, dtype=np.float64).reshape(-1), loss
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def loss_at(self, coef, intercept: float) -> float:
        """the mean loss of the held-out rows at (coef, intercept)"""
        r = np.asarray(self.X @ np.asarray(coef, dtype=np.float64), dtype=np.float64).reshape(-1) + intercept - self.y
        values = self.loss.value(r, self.loss.params)
        if self.weight is None:
            return float(np.mean(values))
        return float(np.dot(self.weight, values) / self.weight.sum())


def check_validation_data(validation_data, n_features: int, feature_names=None) -> tuple[Any, np.ndarray,
                                                                                       np.ndarray | None]:
    """(X_val, y_val, weight or None) of ``validation_data=(X_val, y_val[, sample_weight])``, checked;
    one-line DataError naming what is wrong. A DataFrame's columns are matched to ``feature_names`` by name."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise OptionError("option validation_data must be a pair (X_val, y_val) or a triple "
                          "(X_val, y_val, sample_weight_val)")
    X_val, y_val, *rest = validation_data
    if hasattr(X_val, "__dask_graph__"):
        X_val, y_val = np.asarray(X_val), np.asarray(y_val)
    if hasattr(X_val, "columns") and feature_names is not None:
        X_val = _by_name(X_val, [str(name) for name in feature_names])
    if not hasattr(X_val, "shape"):
        X_val = np.asarray(X_val, dtype=np.float64)
    if len(X_val.shape) != 2 or X_val.shape[0] < 1:
        raise DataError(f"validation_data: X_val must be a table of rows and {n_features} columns, "
                        f"not of shape {tuple(X_val.shape)}")
    if X_val.shape[1] != n_features:
        raise DataError(f"validation_data: X_val has {X_val.shape[1]} features but the training data has {n_features}")
    check_X(X_val, source="validation_data X_val")
    y_val = _finite_column(y_val, X_val.shape[0], "y_val")
    weight = _finite_column(rest[0], X_val.shape[0], "sample_weight_val") if rest and rest[0] is not None else None
    if weight is not None and ((weight < 0).any() or not weight.sum() > 0):
        raise DataError("validation_data: sample_weight_val must be >= 0 with a positive sum")
    return (X_val if hasattr(X_val, "iloc") or hasattr(X_val, "tocsr") else np.asarray(X_val, dtype=np.float64),
            y_val, weight)


def _by_name(X_val, names: list[str]):
    """X_val's columns in the training data's order; DataError naming a training column it lacks"""
    columns = [str(c) for c in X_val.columns]
    missing = [name for name in names if name not in columns]
    if missing:
        raise DataError(f"validation_data: X_val has no column {missing[0]!r} (the training data's columns are "
                        f"{names})")
    return X_val if columns == names else X_val.set_axis(columns, axis=1)[names]


def _finite_column(values, n: int, name: str) -> np.ndarray:
    try:
        column = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"validation_data: {name} must be numbers") from None
    if len(column) != n:
        raise DataError(f"validation_data: X_val has {n} rows but {name} has {len(column)}; they must match")
    bad = np.flatnonzero(~np.isfinite(column))
    if len(bad):
        raise DataError(f"validation_data: {name} has a missing or infinite value at row index {bad[0]}")
    return column

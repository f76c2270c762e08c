"""One update of a playground run, broken down into its numbers.

For step k the table shows, in the descent's units (after the preprocessing, where
the optimizer works): the batch's rows, the predictions at the parameters before the
step, the residuals, the gradient of the batch's loss (computed by gradfit's
pure-Python engine, the reference implementation), −lr·gradient, the update the
optimizer made (from the history: equal to −lr·gradient for plain SGD) and the new
parameters, also in the data's units as the history records them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..descent.batching import batches, epoch_order
from ..engines import get_engine
from .descent import Run

#: the most rows the table lists one by one
MAX_ROWS = 8


class StepNumbers(NamedTuple):
    """the numbers of one update (vectors are [coef..., intercept] in the descent's units)"""

    step: int
    epoch: int
    rows: list[int]
    x: np.ndarray
    y: np.ndarray
    prediction: np.ndarray
    residual: np.ndarray
    before: np.ndarray
    gradient: np.ndarray
    lr: float
    update: np.ndarray
    after: np.ndarray
    after_original: np.ndarray
    loss_before: float
    loss_after: float


def step_numbers(run: Run, k: int) -> StepNumbers:
    """the numbers of the update that led from entry k − 1 to entry k (k ≥ 1)"""
    if not 1 <= k < len(run):
        raise IndexError(f"step {k} is not in this run (1..{len(run) - 1})")
    index, local = run.locate(k)
    segment = run.segments[index]
    model = segment.model
    per_epoch = run.steps_per_epoch
    epoch, batch = divmod(local - 1, per_epoch)
    n = len(run.data.y)
    order = epoch_order(n, epoch, model.shuffle, model.seed_)
    selection = list(batches(n, model.batch_size, order))[batch]
    rows = list(range(n)) if selection is None else [int(i) for i in np.arange(n)[selection]]
    before, after = (_descent_theta(model, j) for j in (local - 1, local))
    gradient = _batch_gradient(run, model, before, rows)
    x, y = _descent_rows(model, run.data.X[rows], run.data.y[rows])
    prediction = x @ before[: x.shape[1]] + (before[-1] if model.fit_intercept else 0.0)
    history = model.history_
    return StepNumbers(
        k, epoch, rows, x, y, prediction, prediction - y, before, gradient, float(history.lr[local]),
        after - before, after, run.theta[k], float(history.loss[local - 1]), float(history.loss[local]))


def _descent_theta(model, j: int) -> np.ndarray:
    """history entry j's parameters in the descent's units"""
    history = model.history_
    theta = model.preprocessor_.to_transformed(history.coef[j], history.intercept[j], model.result_.model)
    return np.asarray(theta, dtype=np.float64)


def _descent_rows(model, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rows as the descent sees them: x̃ = (x − shift) / scale, ỹ = y − shift"""
    prep = model.preprocessor_
    return (X - np.asarray(prep.x_shift)) / np.asarray(prep.x_scale), y - prep.y_shift


def _batch_gradient(run: Run, model, theta: np.ndarray, rows: list[int]) -> np.ndarray:
    """the gradient of the batch's loss at theta, from gradfit's pure-Python engine"""
    engine = get_engine("python")(run.data.X.tolist(), run.data.y.tolist())
    try:
        engine.prepare(model.result_.model, model.preprocessor_)
        _, grad = engine.loss_grad(engine.vector(theta.tolist()), rows)
        return np.asarray(engine.to_list(grad), dtype=np.float64)
    finally:
        engine.close()

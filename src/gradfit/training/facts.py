"""What the verdict needs to know about a finished fit (``verdict.Facts``), gathered from the prepared
engine, the loop and its outcome: the distance from the optimum, the steps taken, the columns' sizes
in the descent's units, the curvature of the standardized problem and the trajectory of the distance.
The expensive parts are computed only for a fit short of the optimum (the trajectory only on request).
"""

from __future__ import annotations

import math

import numpy as np

from ..descent import curvature as curv
from ..optimum.exact import Gap
from .config import FitConfig
from .history import History
from .prepare import Prepared, column_name
from .state import Outcome, Steps
from .steps import stochastic
from .train import Loop
from .validation import HeldOutResult
from .verdict import DEFAULT_TOL, Facts


def facts(config: FitConfig, p: Prepared, loop: Loop, outcome: Outcome, steps: Steps, gap: Gap | None,
           held: HeldOutResult | None) -> Facts:
    """what the verdict needs to know about a finished fit"""
    tol = config.tol if config.tol is not None else DEFAULT_TOL
    short = gap is not None and gap.distance > tol  # only a fit short of the optimum needs a diagnosis
    diagnosable = short and p.stats is not None and p.curvature is not None
    standardized = curv.standardized(p.stats, p.model) if diagnosable else None
    scales = _column_sizes(p, loop.history.feature_names) if diagnosable else None
    return Facts(
        distance=gap.distance if gap is not None else None,
        tol=tol,
        epochs_run=outcome.state.epoch, interrupted=outcome.interrupted, stochastic=stochastic(config, p),
        batch_size=config.batch_size, optimizer=config.optimizer, lr=steps.lr, lr_given=config.lr != "auto",
        stable_lr=1.0 / p.curvature.L if p.curvature is not None and p.curvature.L > 0 else None,
        preprocess=p.prep.mode, curvature=p.curvature,
        standardized=standardized, column_sizes=scales,
        trajectory=lambda: _trajectory(p, loop.history),
        loss=p.model.loss.name, kinked=math.isinf(p.model.loss.curvature), averaged=config.average_from is not None,
        weight_decay=float(config.weight_decay) if config.optimizer == "adamw" else 0.0,
        kept=held.best if held is not None and held.restored and (
            held.best.epoch < outcome.state.epoch or outcome.stopped_by == "validation") else None,
        stopped_by=outcome.stopped_by, n_iter_no_change=config.n_iter_no_change,
    )


def _column_sizes(p: Prepared, feature_names) -> list[tuple[str, float]]:
    """(name, size) of each column of the descent's design: spread about the shift the preprocessing
    removes (the root mean square when nothing is removed), the intercept's column of ones among them"""
    stats, prep = p.stats, p.prep
    shifted = any(prep.x_shift)
    sizes = [(f"column {column_name(feature_names, j)!r}", float(size / scale)) for j, (size, scale) in
             enumerate(zip(stats.x_std if shifted else stats.x_rms, prep.x_scale))]
    return sizes + ([("the intercept's column of ones", 1.0)] if p.model.fit_intercept and not shifted else [])


def _trajectory(p: Prepared, history: History) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, distance from the optimum) of every recorded entry"""
    params = np.column_stack([np.asarray(history.coef, dtype=np.float64).reshape(len(history), -1),
                              np.asarray(history.intercept, dtype=np.float64)])
    return np.asarray(history.epoch, dtype=np.float64), np.array([p.meter.distance(row) for row in params])

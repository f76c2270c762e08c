"""From data and settings to a finished fit: hold out rows, prepare the engine, choose the steps, run the
loop, and compare the result with the exact answer.

``fit`` is the flow; each stage is a module of its own: ``prepare`` (the engine, its statistics and the
exact answer), ``steps`` ('auto' settings resolved), ``start`` (seed and initial state), ``train`` (the
loop), ``facts`` and ``verdict`` (why a fit is, or is not, at its optimum).
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..descent.batching import draw_ahead, n_batches
from ..descent.optim import make_optimizer
from ..descent.schedules import make_schedule
from ..descent.weights import check_weights
from ..engines import get_engine
from ..engines.gram import GramPath
from ..errors import NotAtOptimumWarning, OptionError
from . import train
from .callbacks import ProgressBar
from .checkpoint import engine_state
from .config import FitConfig, validate
from .facts import facts
from .history import History
from .prepare import Prepared, prepare
from .result import FitResult
from .start import fresh_state, resolve_seed
from .state import Outcome, Steps
from .steps import choose_steps, divergence_advice
from .train import Loop
from .validation import HeldOut, HeldOutResult, check_validation_data, split_rows, take_rows
from .verdict import EARLY_STOPPED, diagnose

#: seconds a fit runs before its progress bar appears (quick fits print nothing)
PROGRESS_DELAY = 0.5


def fit(X, y, config: FitConfig, *, feature_names: Sequence[str] | None = None,
        resume: FitResult | None = None, epochs: int | None = None,
        callbacks: Sequence[Callable] = (), progress: bool = False, warn: bool = True,
        start: tuple[Sequence[float], float] | None = None, validation_data=None, sample_weight=None) -> FitResult:
    """fit a linear model by gradient descent; ``resume`` continues an earlier fit's state.

    ``start``: (coef, intercept) in the data's units to start from instead of ``config.init``
    (a warm start: the preprocessing of this fit may differ from the one that produced them).
    ``sample_weight``: one weight >= 0 per row (``gradfit.descent.weights`` states the convention); None: unweighted.

    ``validation_data``: (X_val, y_val) or (X_val, y_val, sample_weight_val), held-out rows whose
    loss is recorded after every epoch (``History.val_loss``); with ``config.early_stopping`` the
    fit stops on it and returns the parameters of the epoch where it was lowest. Without it,
    ``config.early_stopping`` holds out ``config.validation_fraction`` of the rows (seeded).

    The fit ends with a verdict from the exact answer; when it is not at the optimum to
    ``config.tol`` (1e-6 when tol is None), ``warn`` issues a NotAtOptimumWarning saying why
    and what would fix it (not when early stopping kept an earlier epoch on purpose).
    """
    validate(config)
    seed = resume.seed if resume is not None else resolve_seed(config.seed)
    X, y, sample_weight, held = _hold_out(X, y, sample_weight, config, seed, validation_data, feature_names)
    first_order = _first_order(X, config, seed) if resume is None else None
    p = prepare(X, y, config, resume.prep if resume else None, feature_names, sample_weight)
    try:
        steps = resume.steps if resume is not None else choose_steps(config, p)
        loop = _loop(config, p, steps, seed, resume, feature_names, callbacks)
        loop.first_order = first_order
        if held is not None:
            loop.held_out, loop.early_stopping = HeldOut(*held[:2], p.model.loss, held[2]), config.early_stopping
        state = (engine_state(resume.state, p.engine) if resume is not None
                 else fresh_state(config, p, loop, seed, start))
        n_epochs = steps.epochs if epochs is None else epochs
        with _progress(progress, n_epochs) as bar:
            if bar is not None:
                loop.callbacks = [*loop.callbacks, bar]
            outcome = loop.run(state, n_epochs)
    finally:
        p.engine.close()
    result = _result(config, p, loop, outcome, steps, seed)
    result.weighted = sample_weight is not None
    # an interruption is said where it happens; early stopping keeps an earlier epoch on purpose
    if warn and not result.verdict.converged and not outcome.interrupted and result.verdict.reason != EARLY_STOPPED:
        warnings.warn(str(result.verdict), NotAtOptimumWarning, stacklevel=3)
    return result


def _first_order(X, config: FitConfig, seed: int):
    """the first epoch's shuffled order, drawn on a thread while ``prepare`` reads the data (in-memory data of
    ``ORDERS_AHEAD_ROWS`` rows or more, minibatch or per-sample epochs of a fresh fit); None otherwise"""
    n = int(np.shape(X)[0]) if hasattr(X, "shape") and not get_engine(config.engine).lazy_data else 0
    if not (config.shuffle and n_batches(n, config.batch_size) > 1 and n >= train.ORDERS_AHEAD_ROWS):
        return None
    return draw_ahead(n, 0, seed)


def _hold_out(X, y, sample_weight, config: FitConfig, seed: int, validation_data, feature_names=None):
    """(training X, training y, their weights, (X_val, y_val, weight_val) or None): ``validation_data`` as given,
    or with early stopping a seeded share of the rows, their weights with them (Dask collections are split lazily,
    their held-out rows read)"""
    lazy = get_engine(config.engine).lazy_data
    if lazy and (validation_data is not None or config.early_stopping):
        from ..engines.dask_data import as_dask_arrays

        X, y, _ = as_dask_arrays(X, y)
    if validation_data is not None:
        return X, y, sample_weight, check_validation_data(validation_data, int(np.shape(X)[1]), feature_names)
    if not config.early_stopping:
        return X, y, sample_weight, None
    if not hasattr(X, "shape"):
        X = np.asarray(X, dtype=np.float64)
    split = split_rows(int(X.shape[0]), config.validation_fraction, seed)
    X_val, y_val = take_rows(X, split.val), take_rows(y, split.val)
    if lazy:
        X_val, y_val = np.asarray(X_val), np.asarray(y_val)
    w_train, w_val = _split_weights(sample_weight, split)
    return (take_rows(X, split.train), take_rows(y, split.train), w_train,
            (X_val, np.asarray(y_val, dtype=np.float64), w_val))


def _split_weights(sample_weight, split):
    """the training rows' and the held-out rows' weights (None, None when unweighted)"""
    if sample_weight is None:
        return None, None
    w = check_weights(sample_weight, split.train.size + split.val.size)
    w_val = w[split.val]
    if not w_val.any():
        raise OptionError(f"early stopping: every one of the {w_val.size} held-out rows has weight 0, so the "
                          f"validation loss is undefined; raise validation_fraction or pass validation_data")
    return w[split.train], w_val


def _loop(config, p: Prepared, steps: Steps, seed, resume, feature_names, callbacks) -> Loop:
    optimizer = _optimizer(config, p, steps)
    names = list(feature_names) if feature_names is not None else None
    history = resume.history if resume is not None else History(feature_names=names)
    return Loop(
        engine=p.path, model=p.model, prep=p.prep, optimizer=optimizer,
        schedule=make_schedule(steps.schedule, steps.lr, max(steps.epochs, 1), config.schedule_options),
        batch_size=config.batch_size, shuffle=config.shuffle, seed=seed, history=history,
        record_every=config.record_every, tol=config.tol, n_iter_no_change=config.n_iter_no_change,
        callbacks=list(callbacks), advice=lambda lr: divergence_advice(config, p, lr), at_optimum=_stop_rule(config, p),
        average_from=config.average_from,
    )


def _optimizer(config: FitConfig, p: Prepared, steps: Steps):
    """gradfit's optimizer, or one of the engine's own backends (the torch engine's torch.optim);
    ``validate`` has checked that the engine offers the backend"""
    if config.optimizer_backend == "gradfit":
        return make_optimizer(config.optimizer, momentum=steps.momentum, nesterov=config.nesterov,
                              betas=tuple(config.betas), eps=config.eps, rho=config.rho,
                              weight_decay=config.weight_decay)
    return p.engine.make_optimizer(dataclasses.replace(config, momentum=steps.momentum, schedule=steps.schedule))


def _stop_rule(config: FitConfig, p: Prepared) -> Callable[[Any], bool] | None:
    """theta -> within tol of the exact answer; None when tol is None or there is no exact answer"""
    if config.tol is None or p.meter is None:
        return None
    tol, meter = config.tol, p.meter
    return lambda theta: meter.distance(_params(p, theta)) <= tol


def _params(p: Prepared, theta) -> np.ndarray:
    """[coef..., intercept] in the data's units from an engine's parameter vector"""
    return p.prep.original_params(np.asarray(p.engine.to_list(theta), dtype=np.float64), p.model)


@contextlib.contextmanager
def _progress(enabled: bool, epochs: int):
    if not enabled:
        yield None
        return
    with ProgressBar(epochs, delay=PROGRESS_DELAY) as bar:
        yield bar


def _result(config, p: Prepared, loop: Loop, outcome: Outcome, steps: Steps, seed) -> FitResult:
    params, objective = _params(p, loop.reported(outcome.state)), loop.history.loss[-1]
    held = _held_out_result(loop, outcome, params)
    if held is not None and held.restored:
        params, objective = np.append(held.best.coef, held.best.intercept), held.best.loss
    gap = p.meter.gap(params, objective) if p.meter is not None else None
    verdict = diagnose(facts(config, p, loop, outcome, steps, gap, held))
    return FitResult(params[:-1].tolist(), float(params[-1]), loop.history, outcome, steps.lr, seed, p.model,
                     p.prep, config, p.exact, gap, p.stats, isinstance(p.path, GramPath), steps, verdict,
                     p.curvature, held_out=held)


def _held_out_result(loop: Loop, outcome: Outcome, last: np.ndarray) -> HeldOutResult | None:
    """the best epoch on the held-out rows and the last parameters; None without held-out data"""
    best = outcome.state.val_best
    if loop.held_out is None or best is None:
        return None
    return HeldOutResult(best, loop.early_stopping, last[:-1].tolist(), float(last[-1]), loop.held_out.n_rows)

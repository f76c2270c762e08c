"""From data and settings to a finished fit: prepare the engine, run the loop, compare with the exact answer."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import exact as exact_mod
from .callbacks import ProgressBar
from .checkpoint import engine_state
from .config import FitConfig, validate
from .engines import get_engine
from .engines.gram import GramPath
from .errors import ConvergenceWarning, OptionError
from .exact import ExactSolution, Gap
from .gram import GramStats, Quadratic
from .history import History
from .model import LinearModel
from .optim import make_optimizer
from .preprocess import Preprocessor
from .schedules import adaptive_lr, make_schedule, power_iteration, safe_sgd_lr
from .train import Loop, Outcome, TrainState

#: seconds a fit runs before its progress bar appears (quick fits print nothing)
PROGRESS_DELAY = 0.5

#: the Gram path is skipped when the d×d matrix would be larger than this many entries
GRAM_MAX_ENTRIES = 4000 * 4000


@dataclass
class FitResult:
    """everything a fit produced; the estimator copies it into its ``*_`` attributes"""

    coef: list[float]
    intercept: float
    history: History
    outcome: Outcome
    lr: float
    seed: int
    model: LinearModel
    prep: Preprocessor
    config: FitConfig
    exact: ExactSolution | None
    gap: Gap | None
    stats: GramStats | None
    used_gram: bool
    extras: dict = field(default_factory=dict)

    @property
    def state(self) -> TrainState:
        return self.outcome.state

    @property
    def n_iter(self) -> int:
        return self.outcome.state.epoch

    @property
    def converged(self) -> bool:
        return self.outcome.converged


@dataclass
class Prepared:
    """an engine ready to train, with its statistics and exact answer"""

    engine: Any
    path: Any
    model: LinearModel
    prep: Preprocessor
    stats: GramStats | None
    quad: Quadratic | None
    exact: ExactSolution | None


def prepare(X, y, config: FitConfig, prep: Preprocessor | None = None, feature_names=None) -> Prepared:
    """build the engine and get it ready; the engine is closed again if that fails"""
    engine = get_engine(config.engine)(X, y, dtype=config.dtype, device=config.device, **config.engine_options)
    try:
        return _prepare_engine(engine, config, prep, feature_names)
    except BaseException:
        engine.close()
        raise


def _prepare_engine(engine, config: FitConfig, prep: Preprocessor | None, feature_names) -> Prepared:
    """gather Gram statistics, choose preprocessing, solve exactly, pick the full-batch path"""
    validate(config, n_rows=engine.n_rows)  # the engine knows the row count of lazy or named data
    d = engine.n_features
    model = LinearModel(d, config.fit_intercept, config.loss, float(config.alpha), float(config.l1_ratio))
    stats = engine.gram() if d * d <= GRAM_MAX_ENTRIES else None
    if prep is None:
        if stats is None and config.preprocess != "none":
            raise OptionError(f"option preprocess={config.preprocess!r} needs column statistics, "
                              f"which are not gathered for {d} features; use preprocess='none'")
        prep = (Preprocessor.from_stats(config.preprocess, stats.x_mean, stats.x_std, stats.y_mean, feature_names)
                if stats is not None else Preprocessor.identity(d))
    engine.prepare(model, prep)
    if stats is None:
        if config.gram is True:
            raise OptionError(f"option gram=True needs the Gram statistics, which are not gathered for {d} features "
                              f"(the {d}×{d} matrix is above GRAM_MAX_ENTRIES={GRAM_MAX_ENTRIES}); use gram='auto'")
        return Prepared(engine, engine, model, prep, None, None, None)
    quad = Quadratic.from_stats(stats, prep, model)
    least_squares = exact_mod.least_squares_coef(quad)
    w_star = least_squares[0]
    rss = engine.residual_ss(w_star.tolist(), quad.best_intercept(w_star))
    stats.rss_min = rss
    gram_path = GramPath(engine, quad, w_star, rss)
    theta, method, cond = exact_mod.solve(quad, least_squares)
    coef, intercept = prep.to_original(theta, model)
    objective = gram_path.objective_parts(np.asarray(theta))[0] + model.penalty(theta)
    exact = ExactSolution(theta, coef, intercept, objective, method, cond)
    # cost model: once the statistics exist, a full-data loss/gradient costs O(d²) on them against
    # O(n·d) on the data, so "auto" takes the Gram path unless there are fewer rows than features
    use_gram = config.gram is True or (config.gram == "auto" and engine.name != "python" and d <= engine.n_rows)
    return Prepared(engine, gram_path if use_gram else engine, model, prep, stats, quad, exact)


def choose_lr(config: FitConfig, p: Prepared) -> float:
    """the learning rate: the user's number, or a safe one for this data when lr='auto'"""
    if config.lr != "auto":
        return float(config.lr)
    if config.optimizer != "sgd":
        return adaptive_lr(p.exact.theta if p.exact else [1.0])
    lr = sgd_safe_lr(config, p)
    if lr is None:
        raise OptionError(f"option lr='auto' needs the curvature of the data, which is not gathered for "
                          f"{p.model.n_features} features; give lr a number")
    return lr


def sgd_safe_lr(config: FitConfig, p: Prepared) -> float | None:
    """1/L_b from the curvature of the objective (power iteration on its Hessian); None without statistics"""
    if p.quad is None:
        return None
    H = p.quad.hessian() + np.diag(np.asarray(p.model.mask()) * p.model.l2)
    L = power_iteration(H)
    small_batches = config.batch_size is not None and config.batch_size < p.engine.n_rows
    R = p.model.c * p.engine.max_row_sq_norm() + p.model.l2 if small_batches else L
    return safe_sgd_lr(L, R, p.engine.n_rows, config.batch_size)


def initial_theta(config: FitConfig, model: LinearModel, seed: int) -> list[float]:
    """starting parameters in the descent's units"""
    init, k = config.init, model.n_params
    if isinstance(init, str):
        if init == "zeros":
            return [0.0] * k
        return np.random.default_rng(seed).uniform(-1.0, 1.0, size=k).tolist()
    if isinstance(init, (tuple, list)):
        return model.join(*_init_pair(init, model.n_features))
    return [float(init)] * k


def _init_pair(init, d: int) -> tuple[list[float], float]:
    """(coef, intercept) of init=(coef, intercept); OptionError unless they are d (or 1) finite numbers and one"""
    try:
        coef, intercept = np.asarray(init[0], dtype=np.float64).reshape(-1), float(init[1])
    except (TypeError, ValueError):
        coef, intercept = np.empty(0), float("nan")
    if coef.size not in (1, d) or not (np.isfinite(coef).all() and np.isfinite(intercept)):
        raise OptionError(f"option init=(coef, intercept) needs {d} finite coefficients (or one for all) "
                          f"and a finite intercept, not {init!r:.80}")
    return np.broadcast_to(coef, (d,)).tolist(), intercept


def resolve_seed(seed: int | None) -> int:
    return int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**32))


def fit(X, y, config: FitConfig, *, feature_names: Sequence[str] | None = None,
        resume: FitResult | None = None, epochs: int | None = None,
        callbacks: Sequence[Callable] = (), progress: bool = False) -> FitResult:
    """fit a linear model by gradient descent; ``resume`` continues an earlier fit's state"""
    validate(config)
    p = prepare(X, y, config, resume.prep if resume else None, feature_names)
    try:
        lr = resume.lr if resume is not None else choose_lr(config, p)
        seed = resume.seed if resume is not None else resolve_seed(config.seed)
        loop = _loop(config, p, lr, seed, resume, feature_names, callbacks)
        state = engine_state(resume.state, p.engine) if resume is not None else _fresh_state(config, p, loop, seed)
        n_epochs = config.epochs if epochs is None else epochs
        with _progress(progress, n_epochs) as bar:
            if bar is not None:
                loop.callbacks = [*loop.callbacks, bar]
            outcome = loop.run(state, n_epochs)
    finally:
        p.engine.close()
    return _result(config, p, loop, outcome, lr, seed)


def _loop(config, p: Prepared, lr, seed, resume, feature_names, callbacks) -> Loop:
    # an engine may bring its own optimizer implementation (the torch engine's torch.optim backend)
    own = getattr(p.engine, "make_optimizer", None)
    optimizer = (own(config) if own is not None else None) or make_optimizer(
        config.optimizer, momentum=config.momentum, nesterov=config.nesterov,
        betas=tuple(config.betas), eps=config.eps, rho=config.rho)
    history = resume.history if resume is not None else History(feature_names=list(feature_names) if feature_names is not None else None)
    return Loop(
        engine=p.path, model=p.model, prep=p.prep, optimizer=optimizer,
        schedule=make_schedule(config.schedule, lr, max(config.epochs, 1), config.schedule_options),
        batch_size=config.batch_size, shuffle=config.shuffle, seed=seed, history=history,
        record_every=config.record_every, tol=config.tol, n_iter_no_change=config.n_iter_no_change,
        callbacks=list(callbacks), safe_lr=lambda: sgd_safe_lr(config, p),
    )


def _fresh_state(config, p: Prepared, loop: Loop, seed: int) -> TrainState:
    theta = p.engine.vector(initial_theta(config, p.model, seed))
    return TrainState(theta, loop.optimizer.init(theta))


@contextlib.contextmanager
def _progress(enabled: bool, epochs: int):
    if not enabled:
        yield None
        return
    with ProgressBar(epochs, delay=PROGRESS_DELAY) as bar:
        yield bar


def _result(config, p: Prepared, loop: Loop, outcome: Outcome, lr, seed) -> FitResult:
    theta = p.engine.to_list(outcome.state.theta)
    coef, intercept = p.prep.to_original(theta, p.model)
    gap = None
    if p.exact is not None:
        objective = loop.history.loss[-1]
        gap = exact_mod.gap(coef, intercept, p.exact, objective)
    if config.tol is not None and not outcome.converged and not outcome.interrupted and outcome.stopped_by == "epochs":
        warnings.warn(f"the fit reached epochs={outcome.state.epoch} before the loss stopped improving "
                      f"by tol={config.tol}; raise epochs or lr", ConvergenceWarning, stacklevel=3)
    return FitResult(coef, intercept, loop.history, outcome, lr, seed, p.model, p.prep, config,
                     p.exact, gap, p.stats, isinstance(p.path, GramPath))

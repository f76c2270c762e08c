"""From data and settings to a finished fit: prepare the engine, run the loop, compare with the exact answer."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse

from ..descent import curvature as curv
from ..descent.curvature import Curvature
from ..descent.losses import make_loss
from ..descent.model import LinearModel
from ..descent.optim import make_optimizer
from ..descent.preprocess import Preprocessor
from ..descent.schedules import adaptive_lr, make_schedule, power_iteration, safe_sgd_lr
from ..descent.weights import check_weights, normalized
from ..descent.weights import info as weight_info
from ..engines import get_engine
from ..engines.gram import GramPath
from ..errors import NotAtOptimumWarning, OptionError, PrecisionWarning
from ..io.data import check_arrays, check_values
from ..optimum import exact as exact_mod
from ..optimum import robust
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats, Quadratic
from .callbacks import ProgressBar
from .checkpoint import engine_state
from .config import FitConfig, validate
from .history import History
from .result import FitResult
from .train import Loop, Outcome, Steps, TrainState
from .validation import HeldOut, HeldOutResult, check_validation_data, split_rows, take_rows
from .verdict import DEFAULT_TOL, EARLY_STOPPED, Facts, GapMeter, diagnose

#: seconds a fit runs before its progress bar appears (quick fits print nothing)
PROGRESS_DELAY = 0.5

#: the Gram path is skipped when the d×d matrix would be larger than this many entries
GRAM_MAX_ENTRIES = 4000 * 4000

#: float32 keeps this relative resolution (2⁻²⁴); a column whose mean is so large against its spread that
#: rounding moves values by more than FLOAT32_LOSS of the spread loses its information in float32
FLOAT32_EPS = 2.0**-24
FLOAT32_LOSS = 1e-4


#: epochs='auto': the most epochs a full-batch fit is given, and the epochs of a minibatch fit
MAX_AUTO_EPOCHS = 100_000
STOCHASTIC_EPOCHS = 100


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
    curvature: Curvature | None = None
    meter: GapMeter | None = None

    @property
    def curvature_bound(self) -> float:
        """the largest second derivative of one row's loss (that of the Hessian ``curvature`` describes)"""
        return curv.quadratic_model(self.model).loss.c


def prepare(X, y, config: FitConfig, prep: Preprocessor | None = None, feature_names=None,
            sample_weight=None) -> Prepared:
    """build the engine and get it ready; the engine is closed again if that fails"""
    engine_class = get_engine(config.engine)
    if scipy.sparse.issparse(X):
        engine_class = engine_class.for_sparse(X.shape)
    engine = engine_class(X, y, dtype=config.dtype, device=config.device, **config.engine_options)
    try:
        given = check_weights(sample_weight, engine.n_rows)
        engine.weigh(normalized(given))
        p = _prepare_engine(engine, config, prep, feature_names)
        if given is not None and p.stats is not None:
            p.stats.weights = weight_info(given)._replace(total=p.stats.weight_total)
        return p
    except BaseException:
        engine.close()
        raise


def _prepare_engine(engine, config: FitConfig, prep: Preprocessor | None, feature_names) -> Prepared:
    """gather Gram statistics, choose preprocessing, solve exactly, pick the full-batch path"""
    validate(config, n_rows=engine.n_rows)  # the engine knows the row count of lazy or named data
    d = engine.n_features
    model = LinearModel(d, config.fit_intercept, make_loss(config.loss, config.epsilon, config.quantile),
                        float(config.alpha), float(config.l1_ratio))
    stats = engine.gram() if d * d <= GRAM_MAX_ENTRIES else None
    if engine.checks_values:
        _check_values(engine, stats, feature_names)
    if stats is not None and config.dtype == "float32":
        _check_float32(stats, feature_names)
    if prep is None:
        prep = _preprocessor(config, stats, d, feature_names)
    engine.prepare(model, prep)
    if stats is None:
        if config.gram is True:
            raise OptionError(f"option gram=True needs the Gram statistics, which are not gathered for {d} features "
                              f"(the {d}×{d} matrix is above GRAM_MAX_ENTRIES={GRAM_MAX_ENTRIES}); use gram='auto'")
        return Prepared(engine, engine, model, prep, None, None, None)
    if not model.loss.is_quadratic:
        return _prepare_robust(engine, config, model, prep, stats)
    quad = Quadratic.from_stats(stats, prep, model)
    # the least-squares answer with an intercept anchors the Gram path; it is the exact answer of an
    # unpenalized model with an intercept, so only then is it refined to the digits the data allows
    anchor = exact_mod.least_squares(engine, stats, fit_intercept=True,
                                     refine=model.fit_intercept and model.alpha == 0.0)
    stats.rss_min = anchor.rss
    gram_path = GramPath(engine, quad, anchor.coef * np.asarray(prep.x_scale), anchor.rss)
    exact = exact_mod.solve(quad, prep, anchor, engine=engine, stats=stats, objective=gram_path.objective_parts)
    curvature = curv.of_fit(quad, model)
    meter = GapMeter(exact, stats, identified=curvature.identified or model.l1 > 0.0)
    # cost model: once the statistics exist, a full-data loss/gradient costs O(d²) on them against
    # O(n·d) on the data, so "auto" takes the Gram path unless there are fewer rows than features
    use_gram = config.gram is True or (config.gram == "auto" and engine.gram_pays and d <= engine.n_rows)
    return Prepared(engine, gram_path if use_gram else engine, model, prep, stats, quad, exact, curvature, meter)


def _check_values(engine, stats: GramStats | None, feature_names) -> None:
    """DataError naming a NaN, infinity or too large value in X or y, from the statistics where gathered"""
    X, y = engine.data()
    if stats is None:
        check_arrays(X, y, feature_names)
    else:
        check_values(stats, X, y, feature_names)


def _prepare_robust(engine, config: FitConfig, model: LinearModel, prep: Preprocessor, stats: GramStats) -> Prepared:
    """a loss that is not quadratic: every epoch reads the data; the exact answer from ``gradfit.optimum.robust``;
    the curvature is the half squared error's (with the L2 part), which bounds Huber's Hessian"""
    if config.gram is True:
        raise OptionError(f"option gram=True needs a quadratic loss; loss={model.loss.name!r} is not one")
    surrogate = curv.quadratic_model(model)
    quad = Quadratic.from_stats(stats, prep, surrogate)
    curvature = curv.of_fit(quad, surrogate)
    exact = robust.exact_solution(engine, model, prep)
    meter = GapMeter(exact, stats, identified=curvature.identified) if exact is not None else None
    return Prepared(engine, engine, model, prep, stats, quad, exact, curvature, meter)


def _preprocessor(config: FitConfig, stats: GramStats | None, d: int, feature_names) -> Preprocessor:
    """the preprocessing asked for; 'auto' without column statistics is none"""
    if stats is not None:
        return Preprocessor.from_stats(config.preprocess, stats, config.fit_intercept, feature_names)
    if config.preprocess not in ("none", "auto"):
        raise OptionError(f"option preprocess={config.preprocess!r} needs column statistics, "
                          f"which are not gathered for {d} features; use preprocess='none'")
    return Preprocessor.identity(d)


def _check_float32(stats: GramStats, feature_names) -> None:
    """warn about each column whose variation float32 rounds away (statistics are float64 regardless)"""
    columns = [(f"column {_column_name(feature_names, j)!r}", float(m), float(s))
               for j, (m, s) in enumerate(zip(stats.x_mean, stats.x_std))]
    columns.append(("the target", float(stats.y_mean), float(np.sqrt(stats.yty / stats.n))))
    for name, mean, spread in columns:
        if spread > 0.0 and abs(mean) * FLOAT32_EPS > FLOAT32_LOSS * spread:
            warnings.warn(f"{name} loses its variation in float32: its values are about {mean:.3g} but vary by "
                          f"only {spread:.3g}, and float32 rounds them by up to {abs(mean) * FLOAT32_EPS:.3g}; "
                          f"the descent runs on rounded data (the exact answer is computed in float64); "
                          f"use dtype='float64'", PrecisionWarning, stacklevel=5)


def _column_name(feature_names, j: int) -> str:
    return str(feature_names[j]) if feature_names is not None else f"x{j}"


def choose_steps(config: FitConfig, p: Prepared) -> Steps:
    """the learning rate, momentum, schedule and epochs, with 'auto' resolved for this data.

    lr='auto' with full-batch SGD takes Polyak's heavy ball tuned to the Hessian's extreme
    eigenvalues (momentum='auto'), the fastest fixed-step descent on a quadratic (with an L1
    penalty, plain proximal steps of 1/L instead); with minibatches it takes the safe step 1/L_b and a cosine schedule that ends at lr=0, so the
    minibatch noise dies out by the last epoch; other optimizers take a step about 1% of the
    solution's size and the cosine schedule. A given lr keeps a constant schedule and no momentum.
    With early stopping, full-batch SGD takes the plain step 1/L (no heavy ball), whose training
    objective falls every epoch.

    A loss that is not quadratic has no heavy ball: Huber takes the safe step 1/L_b of its
    curvature bound (the half squared error's), a loss with a kink the subgradient method's
    step ‖θ*‖ / (G·√T) (G the largest gradient of a row, T the steps of the run), both with
    the cosine schedule, which ends at lr=0.
    """
    lr, momentum = _step_size(config, p)
    schedule = config.schedule
    if schedule == "auto":
        adaptive = config.lr == "auto" and (_stochastic(config, p) or config.optimizer != "sgd"
                                            or not p.model.loss.is_quadratic)
        schedule = "cosine" if adaptive else "constant"
    epochs = config.epochs if config.epochs != "auto" else _auto_epochs(config, p, lr, momentum)
    return Steps(lr, momentum, schedule, epochs)


def _step_size(config: FitConfig, p: Prepared) -> tuple[float, float]:
    """(lr, momentum)"""
    momentum = 0.0 if config.momentum == "auto" else float(config.momentum)
    if config.lr != "auto":
        return float(config.lr), momentum
    if config.optimizer != "sgd":
        return adaptive_lr(p.exact.theta if p.exact else [1.0]), momentum
    if math.isinf(p.model.loss.curvature):
        return _subgradient_lr(config, p), momentum
    # the heavy ball for smooth objectives; with an L1 part, plain proximal steps (ISTA), which surely converge;
    # under early stopping plain steps too: the heavy ball's objective first swings up, which the held-out
    # rule would take for overfitting, while plain steps lower the training objective every epoch
    smooth = not _stochastic(config, p) and p.model.l1 == 0.0 and p.model.loss.is_quadratic
    if smooth and config.momentum == "auto" and not config.early_stopping and p.curvature is not None \
            and p.curvature.mu > 0.0:
        return p.curvature.heavy_ball()
    lr = sgd_safe_lr(config, p)
    if lr is None:
        raise OptionError(f"option lr='auto' needs the curvature of the data, which is not gathered for "
                          f"{p.model.n_features} features; give lr a number")
    return lr, momentum


def _subgradient_lr(config: FitConfig, p: Prepared) -> float:
    """‖θ*‖∞ / (G·√T): the subgradient method's step for a run of T steps with gradients of at most G"""
    size = max((abs(t) for t in p.exact.theta), default=0.0) if p.exact is not None else 1.0
    G = p.model.loss.slope * math.sqrt(p.engine.max_row_sq_norm())
    epochs = config.epochs if config.epochs != "auto" else _auto_epochs(config, p, 0.0, 0.0)
    steps = max(1, epochs) * (-(-p.engine.n_rows // config.batch_size) if _stochastic(config, p) else 1)
    return max(size, 1e-3) / (max(G, 1e-12) * math.sqrt(steps))


def _auto_epochs(config: FitConfig, p: Prepared, lr: float, momentum: float) -> int:
    """epochs='auto': a minibatch fit gets STOCHASTIC_EPOCHS; a full-batch SGD fit three times the
    epochs its contraction rate needs to reach tol from the exact curvature (at least 1000)"""
    if _stochastic(config, p):
        return STOCHASTIC_EPOCHS
    c = p.curvature
    if config.optimizer != "sgd" or c is None or not c.mu > 0.0 or not p.model.loss.is_quadratic:
        return 1000
    if momentum > 0.0:
        rate = max(momentum**0.5, abs(1.0 - lr * c.mu))  # heavy ball: √β at best, never faster than GD's
    else:
        rate = max(abs(1.0 - lr * c.mu), abs(1.0 - lr * c.L))
    if not rate < 1.0:
        return 1000
    needed = math.log(config.tol or DEFAULT_TOL) / math.log(rate) if rate > 0.0 else 1.0
    return int(min(MAX_AUTO_EPOCHS, max(1000, math.ceil(3.0 * needed + 100))))


def _stochastic(config: FitConfig, p: Prepared) -> bool:
    return config.batch_size is not None and config.batch_size < p.engine.n_rows


def sgd_safe_lr(config: FitConfig, p: Prepared) -> float | None:
    """1/L_b from the curvature of the objective (power iteration on its Hessian); None without statistics"""
    if p.quad is None:
        return None
    L = p.curvature.L if p.curvature is not None else power_iteration(curv.hessian(p.quad, p.model))
    R = p.curvature_bound * p.engine.max_row_sq_norm() + p.model.l2 if _stochastic(config, p) else L
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
    p = prepare(X, y, config, resume.prep if resume else None, feature_names, sample_weight)
    try:
        steps = resume.steps if resume is not None else choose_steps(config, p)
        loop = _loop(config, p, steps, seed, resume, feature_names, callbacks)
        if held is not None:
            loop.held_out, loop.early_stopping = HeldOut(*held[:2], p.model.loss, held[2]), config.early_stopping
        state = (engine_state(resume.state, p.engine) if resume is not None
                 else _fresh_state(config, p, loop, seed, start))
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
    history = resume.history if resume is not None else History(feature_names=list(feature_names) if feature_names is not None else None)
    return Loop(
        engine=p.path, model=p.model, prep=p.prep, optimizer=optimizer,
        schedule=make_schedule(steps.schedule, steps.lr, max(steps.epochs, 1), config.schedule_options),
        batch_size=config.batch_size, shuffle=config.shuffle, seed=seed, history=history,
        record_every=config.record_every, tol=config.tol, n_iter_no_change=config.n_iter_no_change,
        callbacks=list(callbacks), safe_lr=lambda: sgd_safe_lr(config, p), at_optimum=_stop_rule(config, p),
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


def _fresh_state(config, p: Prepared, loop: Loop, seed: int, start=None) -> TrainState:
    values = initial_theta(config, p.model, seed) if start is None else p.prep.to_transformed(*start, p.model)
    theta = p.engine.vector(values)
    return TrainState(theta, loop.optimizer.init(theta), avg=theta if loop.average_from is not None else None)


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
    verdict = diagnose(_facts(config, p, loop, outcome, steps, gap, held))
    return FitResult(params[:-1].tolist(), float(params[-1]), loop.history, outcome, steps.lr, seed, p.model,
                     p.prep, config, p.exact, gap, p.stats, isinstance(p.path, GramPath), steps, verdict,
                     p.curvature, held_out=held)


def _held_out_result(loop: Loop, outcome: Outcome, last: np.ndarray) -> HeldOutResult | None:
    """the best epoch on the held-out rows and the last parameters; None without held-out data"""
    best = outcome.state.val_best
    if loop.held_out is None or best is None:
        return None
    return HeldOutResult(best, loop.early_stopping, last[:-1].tolist(), float(last[-1]), loop.held_out.n_rows)


def _facts(config, p: Prepared, loop: Loop, outcome: Outcome, steps: Steps, gap: Gap | None,
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
        epochs_run=outcome.state.epoch, interrupted=outcome.interrupted, stochastic=_stochastic(config, p),
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
    sizes = [(f"column {_column_name(feature_names, j)!r}", float(size / scale)) for j, (size, scale) in
             enumerate(zip(stats.x_std if shifted else stats.x_rms, prep.x_scale))]
    return sizes + ([("the intercept's column of ones", 1.0)] if p.model.fit_intercept and not shifted else [])


def _trajectory(p: Prepared, history: History) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, distance from the optimum) of every recorded entry"""
    params = np.column_stack([np.asarray(history.coef, dtype=np.float64).reshape(len(history), -1),
                              np.asarray(history.intercept, dtype=np.float64)])
    return np.asarray(history.epoch, dtype=np.float64), np.array([p.meter.distance(row) for row in params])

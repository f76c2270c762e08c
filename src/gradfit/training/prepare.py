"""Getting a fit ready: the engine, the Gram statistics, the checks of the values, the preprocessing,
the exact answer, the curvature and the meter of the distance from the optimum.

``prepare`` builds the engine for the data (its sparse variant for a scipy.sparse X), weighs the
rows, gathers the Gram statistics in one pass (only while the d×d matrix stays within
``GRAM_MAX_ENTRIES``), checks the values from them, chooses the preprocessing, and solves exactly:
least squares (``optimum.exact``) for a quadratic loss, whose full-batch epochs may then run on the
statistics (``engines.gram.GramPath``), or ``optimum.robust`` for the others. What it returns, a
``Prepared``, is all that choosing the steps, running the loop and the verdict read of the data.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from ..descent import curvature as curv
from ..descent.curvature import Curvature
from ..descent.losses import make_loss
from ..descent.model import LinearModel
from ..descent.batching import n_batches
from ..descent.preprocess import Preprocessor
from ..descent.weights import check_weights
from ..descent.weights import info as weight_info
from ..descent.weights import normalized
from ..engines import get_engine
from ..engines.gram import GramPath
from ..errors import OptionError, PrecisionWarning
from ..io.checks import check_arrays, check_values
from ..optimum import exact as exact_mod
from ..optimum import robust
from ..optimum.exact import ExactSolution
from ..optimum.gram import GramStats, Quadratic
from .config import FitConfig, validate
from .verdict import GapMeter

#: the Gram path is skipped when the d×d matrix would be larger than this many entries
GRAM_MAX_ENTRIES = 4000 * 4000

#: float32 keeps this relative resolution (2⁻²⁴); a column whose mean is so large against its spread that
#: rounding moves values by more than FLOAT32_LOSS of the spread loses its information in float32
FLOAT32_EPS = 2.0**-24
FLOAT32_LOSS = 1e-4


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


def _asks_row_norm(config: FitConfig, model: LinearModel, n_rows: int) -> bool:
    """whether choosing the step (``steps._step_size``) will read the largest row norm: lr="auto" for SGD in
    minibatches (``steps.sgd_safe_lr``) or on a loss with a kink (``steps._subgradient_lr``). Said in advance, so
    the statistics pass keeps the candidates only then; were it wrong, the norm would cost a pass, not a wrong step"""
    minibatches = n_batches(n_rows, config.batch_size) > 1
    return config.lr == "auto" and config.optimizer == "sgd" and (minibatches or math.isinf(model.loss.curvature))


def _prepare_engine(engine, config: FitConfig, prep: Preprocessor | None, feature_names) -> Prepared:
    """gather Gram statistics, choose preprocessing, solve exactly, pick the full-batch path"""
    validate(config, n_rows=engine.n_rows)  # the engine knows the row count of lazy or named data
    d = engine.n_features
    model = LinearModel(d, config.fit_intercept, make_loss(config.loss, config.epsilon, config.quantile),
                        float(config.alpha), float(config.l1_ratio))
    engine.row_norm_wanted = _asks_row_norm(config, model, engine.n_rows)
    engine.rows_wanted = n_batches(engine.n_rows, config.batch_size) > 1
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
    columns = [(f"column {column_name(feature_names, j)!r}", float(m), float(s))
               for j, (m, s) in enumerate(zip(stats.x_mean, stats.x_std))]
    columns.append(("the target", float(stats.y_mean), float(np.sqrt(stats.yty / stats.n))))
    for name, mean, spread in columns:
        if spread > 0.0 and abs(mean) * FLOAT32_EPS > FLOAT32_LOSS * spread:
            warnings.warn(f"{name} loses its variation in float32: its values are about {mean:.3g} but vary by "
                          f"only {spread:.3g}, and float32 rounds them by up to {abs(mean) * FLOAT32_EPS:.3g}; "
                          f"the descent runs on rounded data (the exact answer is computed in float64); "
                          f"use dtype='float64'", PrecisionWarning, stacklevel=5)


def column_name(feature_names, j: int) -> str:
    """the name of column j: its feature name, or x{j}"""
    return str(feature_names[j]) if feature_names is not None else f"x{j}"

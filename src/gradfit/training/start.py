"""Where a descent starts: the seed (drawn when not given), the initial parameters ('zeros', 'random',
a number, or (coef, intercept) in the descent's units) and a fresh training state, or the
parameters of a warm start, given in the data's units and carried into this fit's preprocessing.
"""

from __future__ import annotations

import numpy as np

from ..descent.model import LinearModel
from ..errors import OptionError
from .config import FitConfig
from .prepare import Prepared
from .state import TrainState
from .train import Loop


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
    """the seed given, or a fresh one drawn from the operating system's entropy"""
    return int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**32))


def fresh_state(config: FitConfig, p: Prepared, loop: Loop, seed: int, start=None) -> TrainState:
    """the state before the first epoch: ``config.init``, or ``start`` = (coef, intercept) in the data's units"""
    values = initial_theta(config, p.model, seed) if start is None else p.prep.to_transformed(*start, p.model)
    theta = p.engine.vector(values)
    return TrainState(theta, loop.optimizer.init(theta), avg=theta if loop.average_from is not None else None)


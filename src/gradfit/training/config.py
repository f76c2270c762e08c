"""Every setting of a fit in one place, checked as a table (like scikit-learn's constraints)."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from ..descent.losses import LOSSES
from ..descent.optim import OPTIMIZERS
from ..descent.preprocess import MODES
from ..descent.schedules import DEFAULTS as SCHEDULES
from ..descent.schedules import check_options as check_schedule_options
from ..engines import get_engine
from ..errors import OptionError


@dataclass
class FitConfig:
    """the hyperparameters of ``GDRegressor``; see its docstring for their meaning"""

    fit_intercept: bool = True
    loss: str = "mse"
    epsilon: float = 0.1
    quantile: float = 0.5
    alpha: float = 0.0
    l1_ratio: float = 0.0
    optimizer: str = "sgd"
    lr: Any = "auto"
    momentum: Any = "auto"
    nesterov: bool = False
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    rho: float = 0.99
    weight_decay: float = 0.01
    average: Any = False
    schedule: str = "auto"
    schedule_options: dict | None = None
    epochs: Any = "auto"
    batch_size: int | None = None
    shuffle: bool = True
    preprocess: str = "auto"
    init: Any = "zeros"
    tol: float | None = 1e-6
    n_iter_no_change: int = 5
    engine: str = "numpy"
    optimizer_backend: str = "gradfit"
    device: str = "cpu"
    dtype: str = "float64"
    seed: int | None = None
    record_every: Any = 1
    gram: Any = "auto"
    verbose: bool = False
    engine_options: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict) -> "FitConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})

    @property
    def average_from(self) -> int | None:
        """the step after which the iterates are averaged; None without averaging"""
        if self.average is False:
            return None
        return 0 if self.average is True else int(self.average)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["betas"] = list(self.betas)
        return out


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


_CHOICES = {
    "loss": list(LOSSES),
    "optimizer": list(OPTIMIZERS),
    "schedule": ["auto", *SCHEDULES],
    "preprocess": list(MODES),
    "dtype": ["float32", "float64"],
    "optimizer_backend": ["gradfit", "torch"],
}

_RULES = [
    ("alpha", lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    ("l1_ratio", lambda v: _is_real(v) and 0 <= v <= 1, "a number in [0, 1]"),
    ("lr", lambda v: v == "auto" or (_is_real(v) and v > 0), "a number > 0 or 'auto'"),
    ("momentum", lambda v: v == "auto" or (_is_real(v) and 0 <= v < 1), "a number in [0, 1) or 'auto'"),
    ("betas", lambda v: len(v) == 2 and all(_is_real(b) and 0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    ("eps", lambda v: _is_real(v) and v > 0, "a number > 0"),
    ("rho", lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("epsilon", lambda v: _is_real(v) and v > 0, "a number > 0"),
    ("quantile", lambda v: _is_real(v) and 0 < v < 1, "a number in (0, 1)"),
    ("weight_decay", lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    ("average", lambda v: isinstance(v, bool) or (_is_int(v) and v >= 0),
     "True, False or the step after which to average (an integer >= 0)"),
    ("epochs", lambda v: v == "auto" or (_is_int(v) and v >= 0), "an integer >= 0 or 'auto'"),
    ("batch_size", lambda v: v is None or (_is_int(v) and v >= 1), "None or an integer >= 1"),
    ("tol", lambda v: v is None or (_is_real(v) and 0 <= v < 1), "None or a number in [0, 1)"),
    ("n_iter_no_change", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("seed", lambda v: v is None or (_is_int(v) and v >= 0), "None or an integer >= 0"),
    ("record_every", lambda v: v == "step" or (_is_int(v) and v >= 1), "an integer >= 1 or 'step'"),
    ("gram", lambda v: v in ("auto", True, False), "'auto', True or False"),
    ("init", lambda v: _valid_init(v), "'zeros', 'random', a number or (coef, intercept)"),
    *((flag, lambda v: isinstance(v, (bool, np.bool_)), "True or False")
      for flag in ("fit_intercept", "nesterov", "shuffle", "verbose")),
]


def _valid_init(v) -> bool:
    if isinstance(v, str):
        return v in ("zeros", "random")
    if _is_real(v):
        return True
    return isinstance(v, (tuple, list)) and len(v) == 2


def validate(config: FitConfig, n_rows: int | None = None) -> None:
    """raise OptionError naming the first option whose value cannot be used"""
    for name, choices in _CHOICES.items():
        value = getattr(config, name)
        if value not in choices:
            raise OptionError(f"option {name}={value!r} is not one of {choices}")
    for name, ok, wanted in _RULES:
        value = getattr(config, name)
        try:
            good = ok(value)
        except TypeError:
            good = False
        if not good:
            raise OptionError(f"option {name}={value!r} must be {wanted}")
    if config.schedule != "auto":
        check_schedule_options(config.schedule, config.schedule_options)
    elif config.schedule_options:
        raise OptionError(f"option schedule_options={config.schedule_options!r} needs a schedule by name "
                          f"(schedule='auto' takes none): one of {list(SCHEDULES)}")
    # every engine offers gradfit's own optimizers; only another backend needs the engine (and its imports)
    offered = ("gradfit",) if config.optimizer_backend == "gradfit" else get_engine(config.engine).optimizer_backends
    if config.optimizer_backend not in offered:
        raise OptionError(f"option optimizer_backend={config.optimizer_backend!r} is not offered by "
                          f"engine={config.engine!r} (it offers {list(offered)})")
    if config.nesterov and (config.momentum == "auto" or config.momentum <= 0):
        raise OptionError("option nesterov=True needs momentum > 0")
    if n_rows is not None and config.batch_size is not None and config.batch_size > n_rows:
        raise OptionError(f"option batch_size={config.batch_size} is larger than the data ({n_rows} rows)")

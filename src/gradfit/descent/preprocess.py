"""Centering and standardizing, and mapping coefficients back to original units.

The descent runs on x̃ = (x − shift) / scale and ỹ = y − y_shift; the engines apply
that map inside their arithmetic (or to the Gram statistics) instead of copying X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import DataError, OptionError
from .model import LinearModel

MODES = ("auto", "none", "center", "standardize")


@dataclass(frozen=True)
class Preprocessor:
    """x̃ = (x − x_shift) / x_scale, ỹ = y − y_shift"""

    mode: str
    x_shift: tuple[float, ...]
    x_scale: tuple[float, ...]
    y_shift: float

    @classmethod
    def identity(cls, n_features: int) -> "Preprocessor":
        return cls("none", (0.0,) * n_features, (1.0,) * n_features, 0.0)

    @classmethod
    def from_stats(cls, mode: str, stats, fit_intercept: bool = True, feature_names=None) -> "Preprocessor":
        """the preprocessing of ``mode`` for data with these Gram statistics.

        With an intercept, "standardize" maps each column to mean 0 and standard deviation 1,
        and "center" to mean 0 (y is centered too). Without an intercept nothing may be
        centered (that would fit a hidden intercept): "standardize" only divides each column
        by its root mean square, and "center" is refused. "auto" standardizes the columns
        that can be (a constant column, or an all-zero one without intercept, is left as it is).
        """
        if mode not in MODES:
            raise OptionError(f"option preprocess={mode!r} is not one of {list(MODES)}")
        d = len(stats.x_mean)
        if mode == "none":
            return cls.identity(d)
        if mode == "center" and not fit_intercept:
            raise OptionError("option preprocess='center' needs fit_intercept=True: centering fits an intercept; "
                              "use preprocess='standardize' (which only scales without an intercept) or 'none'")
        spread = stats.x_std if fit_intercept else stats.x_rms
        usable = [s > 0.0 and math.isfinite(s) for s in spread]
        if mode == "standardize" and not all(usable):
            j = usable.index(False)
            name = feature_names[j] if feature_names is not None else f"x{j}"
            what = "zero variance" if fit_intercept else "only zeros"
            raise DataError(f"column {name!r} has {what}; it cannot be standardized")
        scale = (1.0,) * d if mode == "center" else tuple(float(s) if ok else 1.0 for s, ok in zip(spread, usable))
        if not fit_intercept:
            return cls("standardize", (0.0,) * d, scale, 0.0)
        return cls("center" if mode == "center" else "standardize",
                   tuple(float(m) for m in stats.x_mean), scale, float(stats.y_mean))

    @property
    def is_identity(self) -> bool:
        return self.mode == "none"

    def to_original(self, theta: Sequence[float], model: LinearModel) -> tuple[list[float], float]:
        """(coef, intercept) in the units of the data the user gave"""
        params = self.original_params(np.asarray(theta, dtype=np.float64), model)
        return params[:-1].tolist(), float(params[-1])

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x_shift, x_scale) as float64 arrays, made once (the fit records its coefficients every epoch: on wide
        data converting the tuples each time cost milliseconds)"""
        return np.asarray(self.x_shift, dtype=np.float64), np.asarray(self.x_scale, dtype=np.float64)

    def original_params(self, theta: np.ndarray, model: LinearModel) -> np.ndarray:
        """[coef..., intercept] in the units of the data from theta in the descent's units"""
        d = model.n_features
        shift, scale = self._arrays
        coef = theta[:d] / scale
        b = float(theta[d]) if model.fit_intercept else 0.0
        # einsum, not a BLAS dot: BLAS's threads sleep through a compiled epoch and take milliseconds to wake
        intercept = self.y_shift + b - float(np.einsum("i,i->", coef, shift))
        return np.append(coef, intercept)

    def to_transformed(self, coef: Sequence[float], intercept: float, model: LinearModel) -> list[float]:
        """theta in the descent's units from (coef, intercept) in original units"""
        w = [cj * sj for cj, sj in zip(coef, self.x_scale)]
        b = intercept - self.y_shift + sum(cj * mj for cj, mj in zip(coef, self.x_shift))
        return model.join(w, b)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "x_shift": list(self.x_shift), "x_scale": list(self.x_scale), "y_shift": self.y_shift}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessor":
        return cls(data["mode"], tuple(data["x_shift"]), tuple(data["x_scale"]), float(data["y_shift"]))

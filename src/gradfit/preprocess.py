"""Centering and standardizing, and mapping coefficients back to original units.

The descent runs on x̃ = (x − shift) / scale and ỹ = y − y_shift; the engines apply
that map inside their arithmetic (or to the Gram statistics) instead of copying X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .errors import DataError, OptionError
from .model import LinearModel

MODES = ("none", "center", "standardize")


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
    def from_stats(cls, mode: str, x_mean, x_std, y_mean: float, feature_names=None) -> "Preprocessor":
        """the preprocessing of ``mode`` for data with these column means and stds"""
        if mode not in MODES:
            raise OptionError(f"option preprocess={mode!r} is not one of {list(MODES)}")
        d = len(x_mean)
        if mode == "none":
            return cls.identity(d)
        scale = (1.0,) * d
        if mode == "standardize":
            for j, s in enumerate(x_std):
                if not s > 0.0 or not math.isfinite(s):
                    name = feature_names[j] if feature_names is not None else f"x{j}"
                    raise DataError(f"column {name!r} has zero variance; it cannot be standardized")
            scale = tuple(float(s) for s in x_std)
        return cls(mode, tuple(float(m) for m in x_mean), scale, float(y_mean))

    @property
    def is_identity(self) -> bool:
        return self.mode == "none"

    def to_original(self, theta: Sequence[float], model: LinearModel) -> tuple[list[float], float]:
        """(coef, intercept) in the units of the data the user gave"""
        w, b = model.split(theta)
        coef = [wj / sj for wj, sj in zip(w, self.x_scale)]
        intercept = self.y_shift + b - sum(cj * mj for cj, mj in zip(coef, self.x_shift))
        return coef, intercept

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

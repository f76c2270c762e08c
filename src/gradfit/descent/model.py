"""The linear hypothesis H(x) = x·W + b, its loss (``gradfit.descent.losses``) and penalties.

Parameters travel as one flat vector ``theta = [w_1, ..., w_d, b]`` (no ``b`` when
``fit_intercept=False``), so optimizers see a single vector on every engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .losses import Loss, make_loss


@dataclass(frozen=True)
class LinearModel:
    """what the descent fits: shape of theta, the loss (a name is made into its Loss) and penalty strengths"""

    n_features: int
    fit_intercept: bool = True
    loss: Loss | str = "mse"
    alpha: float = 0.0
    l1_ratio: float = 0.0

    def __post_init__(self):
        if isinstance(self.loss, str):
            object.__setattr__(self, "loss", make_loss(self.loss))

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.fit_intercept)

    @property
    def l2(self) -> float:
        """strength of ½·l2·‖w‖² (the intercept is never penalized)"""
        return self.alpha * (1.0 - self.l1_ratio)

    @property
    def l1(self) -> float:
        """strength of l1·‖w‖₁, applied as a proximal step"""
        return self.alpha * self.l1_ratio

    def mask(self) -> list[float]:
        """1.0 for penalized entries of theta (the coefficients), 0.0 for the intercept"""
        return [1.0] * self.n_features + [0.0] * int(self.fit_intercept)

    def split(self, theta: Sequence[float]) -> tuple[list[float], float]:
        """(coef, intercept) of a theta given as Python floats"""
        coef = [float(t) for t in theta[: self.n_features]]
        return coef, float(theta[self.n_features]) if self.fit_intercept else 0.0

    def join(self, coef: Sequence[float], intercept: float) -> list[float]:
        """theta from (coef, intercept)"""
        return [float(c) for c in coef] + ([float(intercept)] if self.fit_intercept else [])

    def penalty(self, theta: Sequence[float]) -> float:
        """½·l2·‖w‖² + l1·‖w‖₁"""
        coef, _ = self.split(theta)
        if self.alpha == 0.0:
            return 0.0
        return 0.5 * self.l2 * sum(w * w for w in coef) + self.l1 * sum(abs(w) for w in coef)


def soft_threshold(value, threshold):
    """the proximal map of threshold·|x|: shrink towards zero by threshold, exactly zero inside the band

    Arithmetic and comparisons only, so one definition serves floats, NumPy and torch vectors and
    the compiled kernels (``gradfit.engines.kernels``); the identity when threshold = 0.
    """
    return (value - threshold) * ((value > threshold) * 1.0) + (value + threshold) * ((value < -threshold) * 1.0)

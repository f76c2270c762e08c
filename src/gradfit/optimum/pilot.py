"""The check pass carried by the statistics pass: residuals measured at a pilot answer, moved to any point.

The exact answer's check pass (``optimum.exact.least_squares``) reads the data a second time to
measure, at the Gram answer (β, b), the residual sum of squares Σw̃r² and the gradient
[Xᵀw̃r, Σw̃r]. The statistics pass can measure the same sums at a pilot answer (β₀, b₀), fitted
beforehand to the first rows (``gram.head_pilot``): each block's residuals r₀ = y − Xβ₀ − b₀ are
formed while the block is in the cache. Since r = r₀ − (X − x̄)Δβ − Δc, with Δβ = β − β₀ and
Δc = b − b₀ + x̄ᵀΔβ, and with the centered statistics S and the weight total W,

    Σw̃r²        = Σw̃r₀² − 2Δβᵀg₀ − 2Δc·s₀ + ΔβᵀSΔβ + W·Δc²
    Σw̃(x − x̄)r = g₀ − SΔβ,        Σw̃r = s₀ − W·Δc

where g₀ = Σw̃(x − x̄)r₀ and s₀ = Σw̃r₀. The terms in Δ carry the statistics' rounding in
proportion to the size of the step ‖(X − x̄)Δβ + Δc‖ only, which is small when the pilot is near
the answer: the sums then keep the digits of a pass at (β, b). ``carry`` estimates how many;
the solver reads the data again where they fall short (``normal.pilot_check``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .accurate import DD, ResidualPass
from .refine import digits_of


class Pilot(NamedTuple):
    """a rough least-squares answer (with an intercept) at which the statistics pass measures residuals"""

    coef: np.ndarray
    intercept: float

    def shifted(self, shift: np.ndarray) -> np.ndarray:
        """a with r₀ = Z·a for the statistics pass's rows Z = [x − k, y − k_y, 1] (``shift`` = [k, k_y])"""
        d = len(self.coef)
        offset = self.intercept + float(shift[:d] @ self.coef) - float(shift[d])
        return np.concatenate([-self.coef, [1.0, -offset]])


@dataclass
class PilotSums:
    """residual sums of some rows at the pilot: Σw̃r₀², g₀ = Σw̃(x − x̄)r₀ about those rows' mean, s₀ = Σw̃r₀"""

    pilot: Pilot
    ss: float
    grad: np.ndarray
    total: float

    def merged(self, other: "PilotSums", moved: np.ndarray, other_moved: np.ndarray) -> "PilotSums":
        """the sums of both row sets; ``moved`` = this set's mean − the joint mean (the other's likewise)"""
        return PilotSums(self.pilot, self.ss + other.ss,
                         self.grad + other.grad + moved * self.total + other_moved * other.total,
                         self.total + other.total)


class Carried(NamedTuple):
    """the check pass's sums at a point, from the pilot's, and how far they could be trusted"""

    check: ResidualPass
    rss_digits: float  # significant digits of check.ss that the carrying keeps
    step: float  # ‖Δz‖₁: the step from the pilot in equilibrated units (|Δβⱼ|·√Sⱼⱼ, and |Δc|·√W)


def carry(sums: PilotSums, coef, b: float, x_mean: np.ndarray, S: np.ndarray, W: float, delta: float) -> Carried:
    """the sums at (coef, b), given the rows' centered statistics (x̄, S, W) and their relative rounding δ.

    ‖(X − x̄)Δβ + Δc‖ ≤ u = ‖Δz‖₁, so each term in Δ is at most u·√(Σw̃r₀²) or u² in size and rounds by
    about δ of that: Σw̃r² keeps −log10(4δ·(2u·√(Σw̃r₀²) + u²) / Σw̃r²) digits (none when it is 0).
    """
    with np.errstate(all="ignore"):  # a pilot or answer that is not finite promises nothing (below)
        dcoef = np.asarray(coef, dtype=np.float64) - sums.pilot.coef
        dc = (float(b) - sums.pilot.intercept) + float(x_mean @ dcoef)
        Sd = S @ dcoef
        ss = sums.ss - 2.0 * float(dcoef @ sums.grad) - 2.0 * dc * sums.total + float(dcoef @ Sd) + W * dc * dc
        total = sums.total - W * dc
        grad = np.append(sums.grad - Sd + x_mean * total, total)
        step = float(np.abs(dcoef) @ np.sqrt(np.maximum(np.diag(S), 0.0))) + abs(dc) * math.sqrt(max(W, 0.0))
        err = 4.0 * delta * (2.0 * step * math.sqrt(max(sums.ss, 0.0)) + step * step)
    digits = digits_of(err / ss) if ss > 0.0 and math.isfinite(ss) and math.isfinite(err) else 0.0
    return Carried(ResidualPass(max(ss, 0.0), DD(grad, np.zeros_like(grad))), digits, step)

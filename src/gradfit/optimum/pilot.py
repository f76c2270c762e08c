"""The check pass carried by the statistics pass: residuals measured at a pilot answer, moved to any point.

The exact answer's check pass (``optimum.exact.least_squares``) reads the data a second time to
measure, at the Gram answer (β, b), the residual sum of squares Σw̃r² and the gradient
[Xᵀw̃r, Σw̃r]. The statistics pass can measure the same sums at a pilot answer (β₀, b₀), fitted
beforehand to the first rows (``normal.head_pilot``): each block's residuals r₀ = y − Xβ₀ − b₀ are
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
    #: rounding carried in from sums moved from another pilot (``moved_to``): a bound on ss's, and the steps'
    #: ‖Δz‖₁, which the gradient's rounding grows with
    err: float = 0.0
    moved: float = 0.0

    def merged(self, other: "PilotSums", shift: np.ndarray, other_shift: np.ndarray) -> "PilotSums":
        """the sums of both row sets at the same pilot; ``shift`` = this set's mean − the joint mean (the
        other's likewise)"""
        return PilotSums(self.pilot, self.ss + other.ss,
                         self.grad + other.grad + shift * self.total + other_shift * other.total,
                         self.total + other.total, self.err + other.err, self.moved + other.moved)

    def moved_to(self, pilot: Pilot, x_mean: np.ndarray, S: np.ndarray, W: float, delta: float) -> "PilotSums":
        """the same rows' sums at another pilot, carried (the rows' statistics x̄, S, W and their rounding δ)"""
        if pilot is self.pilot:
            return self
        m = _moved(self, pilot.coef, pilot.intercept, x_mean, S, W, delta)
        return PilotSums(pilot, m.ss, m.grad, m.total, self.err + m.err, self.moved + m.step)


class _Moved(NamedTuple):
    ss: float
    grad: np.ndarray  # Σw̃(x − x̄)r at the new point
    total: float
    step: float  # ‖Δz‖₁
    err: float  # the rounding this move adds to ss, about


def _moved(sums: PilotSums, coef, b: float, x_mean, S, W: float, delta: float) -> _Moved:
    """the sums at (coef, b) from those at the pilot (the formulas of the module docstring)

    ‖(X − x̄)Δβ + Δc‖ ≤ u = ‖Δz‖₁, so each term in Δ is at most u·√(Σw̃r₀²) or u² in size and rounds by
    about δ of that: Σw̃r² takes an error of about 4δ·(2u·√(Σw̃r₀²) + u²).
    """
    with np.errstate(all="ignore"):  # a pilot or answer that is not finite promises nothing (``carry``)
        dcoef = np.asarray(coef, dtype=np.float64) - sums.pilot.coef
        dc = (float(b) - sums.pilot.intercept) + float(x_mean @ dcoef)
        Sd = S @ dcoef
        ss = sums.ss - 2.0 * float(dcoef @ sums.grad) - 2.0 * dc * sums.total + float(dcoef @ Sd) + W * dc * dc
        step = float(np.abs(dcoef) @ np.sqrt(np.maximum(np.diag(S), 0.0))) + abs(dc) * math.sqrt(max(W, 0.0))
        err = 4.0 * delta * (2.0 * step * math.sqrt(max(sums.ss, 0.0)) + step * step)
    return _Moved(ss, sums.grad - Sd, sums.total - W * dc, step, err)


class Carried(NamedTuple):
    """the check pass's sums at a point, from the pilot's, and how far they could be trusted"""

    check: ResidualPass
    rss_digits: float  # significant digits of check.ss that the carrying keeps
    step: float  # ‖Δz‖₁ from the pilot (with the moves' before it), in equilibrated units (|Δβⱼ|·√Sⱼⱼ, |Δc|·√W)


def carry(sums: PilotSums, coef, b: float, x_mean: np.ndarray, S: np.ndarray, W: float, delta: float) -> Carried:
    """the check's sums at (coef, b) ([Xᵀw̃r, Σw̃r] in the data's units), given the rows' centered statistics
    (x̄, S, W) and their relative rounding δ, with the digits of Σw̃r² they keep (none when it is 0)"""
    m = _moved(sums, coef, b, x_mean, S, W, delta)
    grad = np.append(m.grad + x_mean * m.total, m.total)
    err = m.err + sums.err
    digits = digits_of(err / m.ss) if m.ss > 0.0 and math.isfinite(m.ss) and math.isfinite(err) else 0.0
    return Carried(ResidualPass(max(m.ss, 0.0), DD(grad, np.zeros_like(grad))), digits, m.step + sums.moved)

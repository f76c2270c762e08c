"""Every fit ends with a verdict: at the optimum (to ``tol``), or not, with why and what would fix it.

The exact answer is known beside every fit (``gradfit.optimum.exact``), so where a fit ended is
measured, never guessed: the relative distance of its parameters from the optimum, or,
when the optimum is not a single point (collinear or constant columns), the relative
distance of its fitted values from the optimal ones. A fit farther than ``tol`` gets a
diagnosis, tried in this order: interrupted; AdamW's weight decay (not part of the objective);
badly scaled features (the condition number
would drop by standardizing); a learning rate far below the stable one; minibatch noise;
a loss with a kink (epsilon_insensitive, quantile), whose subgradient steps hover; too few epochs (with the number that would do, from the observed contraction rate).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

from ..descent.curvature import Curvature
from ..optimum.exact import ExactSolution, Gap
from ..optimum.gram import GramStats

#: the distance from the optimum below which a fit is called converged when ``tol`` is None
DEFAULT_TOL = 1e-6
#: a condition number this many times above the standardized one counts as bad scaling
SCALING_FACTOR = 10.0
#: a learning rate below this share of the stable one is called too small
SMALL_LR = 0.1


@dataclass
class Verdict:
    """where a fit ended, measured against the exact answer"""

    converged: bool
    reason: str  # "at-optimum", "interrupted", "weight-decay", "badly-scaled", "lr-too-small", "noise-floor",
    #              "kink", "too-few-epochs", "not-contracting" or "no-exact-answer"
    message: str  # where the fit ended and why
    remedy: str  # what would bring it to the optimum ("" when it is there)
    tol: float
    distance: float | None
    epochs_needed: int | None = None

    def __str__(self) -> str:
        return f"{self.message}; {self.remedy}" if self.remedy else self.message

    def to_dict(self) -> dict:
        return asdict(self)


class GapMeter:
    """distance of parameters in the data's units (coef..., intercept) from the exact answer"""

    def __init__(self, exact: ExactSolution, stats: GramStats | None, identified: bool):
        self.best = np.append(np.asarray(exact.coef, dtype=np.float64), exact.intercept)
        self.exact_objective = exact.objective
        self.moments = stats.second_moments(True) if stats is not None else None
        self.identified = identified or self.moments is None

    def param_distance(self, params: np.ndarray) -> float:
        """‖θ − θ*‖ / ‖θ*‖"""
        scale = float(np.linalg.norm(self.best))
        return float(np.linalg.norm(params - self.best)) / (scale if scale > 0.0 else 1.0)

    def fitted_distance(self, params: np.ndarray) -> float:
        """RMS(ŷ − ŷ*) / RMS(ŷ*), from the data's second moments"""
        if self.moments is None:
            return math.nan
        delta = params - self.best
        scale = math.sqrt(max(float(self.best @ self.moments @ self.best), 0.0))
        return math.sqrt(max(float(delta @ self.moments @ delta), 0.0)) / (scale if scale > 0.0 else 1.0)

    def distance(self, params: np.ndarray) -> float:
        """the distance that decides convergence: parameters if the optimum is unique, fitted values if not"""
        return self.param_distance(params) if self.identified else self.fitted_distance(params)

    def gap(self, params: np.ndarray, objective: float) -> Gap:
        return Gap(self.param_distance(params), objective - self.exact_objective, objective, self.exact_objective,
                   self.fitted_distance(params), self.identified)


class Facts(NamedTuple):
    """what the diagnosis reads about a finished fit"""

    distance: float | None
    tol: float
    epochs_run: int
    interrupted: bool
    stochastic: bool
    batch_size: int | None
    optimizer: str
    lr: float
    lr_given: bool  # the user chose the number
    stable_lr: float | None
    preprocess: str
    curvature: Curvature | None
    standardized: Curvature | None
    column_sizes: Sequence[tuple[str, float]] | None  # (name, typical size) of each column the descent sees
    trajectory: Callable[[], tuple[np.ndarray, np.ndarray]]  # (epochs, distances) of the recorded entries
    loss: str = "mse"
    kinked: bool = False  # the loss has a kink (its gradient jumps): descent takes subgradient steps
    averaged: bool = False  # the fit reports the average of its iterates
    weight_decay: float = 0.0  # AdamW's decoupled decay (0 for every other optimizer)


def diagnose(f: Facts) -> Verdict:
    """the verdict on a finished fit"""
    if f.distance is None:
        return Verdict(True, "no-exact-answer", "no exact answer was computed for this fit (too many features "
                       "for Gram statistics, a robust loss on data not in memory or sparse, or a robust loss with a penalty "
                       "that has no exact solver), so its distance from the optimum is unknown", "", f.tol, None)
    where = f"the fit ended at a relative distance of {f.distance:.3g} from the exact optimum (tol={f.tol:g})"
    if f.distance <= f.tol:
        return Verdict(True, "at-optimum", f"{where}: converged", "", f.tol, f.distance)
    for rule in (_interrupted, _decoupled_decay, _badly_scaled, _lr_too_small, _noise_floor, _kink,
                 _too_few_epochs):
        found = rule(f, where)
        if found is not None:
            return found
    return Verdict(False, "not-contracting", f"{where} and was no longer getting closer",
                   "lower lr, or use schedule='cosine' so the step shrinks to zero by the last epoch", f.tol, f.distance)


def _interrupted(f: Facts, where: str) -> Verdict | None:
    if not f.interrupted:
        return None
    return Verdict(False, "interrupted", f"{where}: it was interrupted after {f.epochs_run} epochs",
                   "continue it with partial_fit, or fit again with warm_start=True", f.tol, f.distance)


def _badly_scaled(f: Facts, where: str) -> Verdict | None:
    if f.preprocess not in ("none", "center") or f.curvature is None or f.standardized is None:
        return None
    now, then = f.curvature.condition, f.standardized.condition
    if not (now > SCALING_FACTOR * then and now > 1e3):
        return None
    message = (f"{where}: the features are badly scaled (condition number {now:.3g}, {then:.3g} after "
               f"standardizing{_scale_note(f)})")
    return Verdict(False, "badly-scaled", message, "use preprocess='standardize' (coefficients stay in the "
                   "units of the data)", f.tol, f.distance)


def _scale_note(f: Facts) -> str:
    if not f.column_sizes or len(f.column_sizes) < 2:
        return ""
    big = max(f.column_sizes, key=lambda pair: pair[1])
    small = min(f.column_sizes, key=lambda pair: pair[1])
    return f"; {big[0]} is of size {big[1]:.3g} and {small[0]} of size {small[1]:.3g}"


def _lr_too_small(f: Facts, where: str) -> Verdict | None:
    if not f.lr_given or f.optimizer != "sgd" or f.kinked or not f.stable_lr or f.lr >= SMALL_LR * f.stable_lr:
        return None
    message = f"{where}: lr={f.lr:.3g} is {f.stable_lr / f.lr:.3g} times below the stable step {f.stable_lr:.3g}"
    return Verdict(False, "lr-too-small", message, f"use lr='auto' (or lr={f.stable_lr:.3g})", f.tol, f.distance)


def _noise_floor(f: Facts, where: str) -> Verdict | None:
    if not f.stochastic:
        return None
    message = (f"{where}: with batch_size={f.batch_size} every step follows a noisy gradient, so at a "
               f"fixed step the descent hovers around the optimum instead of reaching it")
    remedy = ("use a decaying schedule (schedule='cosine' ends at lr=0; lr='auto' chooses it) with more epochs, "
              "a larger batch_size, or batch_size=None (full batch)")
    return Verdict(False, "noise-floor", message, remedy, f.tol, f.distance)


def _decoupled_decay(f: Facts, where: str) -> Verdict | None:
    """AdamW's weight decay is not in the objective: its fixed point is not the objective's optimum"""
    if not f.weight_decay > 0.0:
        return None
    message = (f"{where}: AdamW's decoupled weight decay ({f.weight_decay:g}) shrinks the parameters at every "
               f"step without being part of the objective, so the descent settles short of its optimum")
    return Verdict(False, "weight-decay", message, "use weight_decay=0 to reach the optimum, or alpha for a "
                   "penalty that is part of the objective (and of the exact answer)", f.tol, f.distance)


def _kink(f: Facts, where: str) -> Verdict | None:
    """a loss with a kink: near the optimum the gradient does not shrink, so fixed steps hover"""
    if not f.kinked:
        return None
    message = (f"{where}: the {f.loss} loss has a kink, so its gradient keeps its size up to the optimum and "
               f"every step overshoots by about lr times that size")
    remedy = "use schedule='cosine' (lr='auto' chooses it) with more epochs"
    if not f.averaged:
        remedy += ", or average=True (the average of the iterates settles where single steps hover)"
    return Verdict(False, "kink", message, remedy, f.tol, f.distance)


def _too_few_epochs(f: Facts, where: str) -> Verdict | None:
    rate = contraction_rate(*f.trajectory())
    if rate is None:
        return None
    more = math.log(f.tol / f.distance) / math.log(rate)
    needed = _round_up(f.epochs_run + 2.0 * more + 10)
    message = (f"{where}: it was still converging, by a factor {rate:.4g} per epoch, when "
               f"its {f.epochs_run} epochs ran out")
    return Verdict(False, "too-few-epochs", message, f"about {needed - f.epochs_run} more epochs would reach tol: "
                   f"epochs={needed}", f.tol, f.distance, needed)


def contraction_rate(epochs: np.ndarray, distances: np.ndarray) -> float | None:
    """the factor by which the distance shrinks per epoch over the second half of the run (at least its
    last three records); None if it does not shrink"""
    keep = (epochs >= min(epochs[-1] / 2.0, epochs[max(len(epochs) - 3, 0)])) & (distances > 0.0) \
        & np.isfinite(distances)
    if keep.sum() < 2:
        return None
    slope = np.polyfit(epochs[keep].astype(np.float64), np.log(distances[keep]), 1)[0]
    return math.exp(slope) if slope < -1e-12 else None


def _round_up(epochs: float) -> int:
    """epochs rounded up to two significant digits"""
    k = max(int(math.ceil(epochs)), 1)
    unit = 10 ** max(len(str(k)) - 2, 0)
    return -(-k // unit) * unit

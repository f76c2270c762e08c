"""Least-squares answers to the digits the data allows: the record of one (``LeastSquares``), the
digits a correction reveals, and iterative refinement until the corrections stall.

A correction δ of the parameters θ shows their relative error, max |δⱼ| / |θⱼ|, and so how many
significant digits they have (``digits_of``; at most ``FLOAT_DIGITS``). Refinement applies
corrections computed from residuals and gradients in double-double (``accurate``) while each is
at most half the one before, and stops at the first that grows (the conditioning is then beyond
what these corrections can mend; the better point is kept).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

#: the check pass accepts the Gram answer when it promises at least this many digits for every coefficient
TARGET_DIGITS = 13.0
#: the most digits promised: float64 holds 15 to 16 significant decimal digits
FLOAT_DIGITS = 15.0
#: refinement steps at most (each gains about −log10(κ·ε) digits)
MAX_REFINE = 10


class LeastSquares(NamedTuple):
    """the unpenalized least-squares answer of a design, in original units"""

    coef: np.ndarray
    intercept: float
    rss: float
    method: str
    condition: float
    digits: float
    rank: int
    factor: np.ndarray | None  # see ExactSolution.factor


def params_of(coef, b: float, fit_intercept: bool) -> np.ndarray:
    """[coef..., b] with an intercept, coef without"""
    return np.append(coef, b) if fit_intercept else np.asarray(coef, dtype=np.float64)


def relative_step(params: np.ndarray, step: np.ndarray) -> float:
    """max over parameters of |step| / |param|: the relative error a correction of this size reveals"""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(step == 0.0, 0.0, np.abs(step) / np.abs(params))
    return float(rel.max(initial=0.0))


def digits_of(rel: float) -> float:
    """significant digits left by a relative error ``rel``"""
    return FLOAT_DIGITS if rel <= 10.0**-FLOAT_DIGITS else max(0.0, -math.log10(rel))


def refine(measure, correct, coef: np.ndarray, b: float, fit_intercept: bool):
    """iterative refinement: (coef, b, digits) after corrections ``correct(gradient)`` until they stall"""
    last, digits = math.inf, 0.0
    for _ in range(MAX_REFINE):
        dc, db = correct(measure(coef, b).grad.value)
        rel = relative_step(params_of(coef, b, fit_intercept), params_of(dc, db, fit_intercept))
        if rel > last:  # diverging: the conditioning is beyond these corrections; keep the better point
            break
        coef, b, digits = coef + dc, b + db, digits_of(rel)
        if digits >= FLOAT_DIGITS or rel > 0.5 * last:
            break
        last = rel
    return coef, b, digits


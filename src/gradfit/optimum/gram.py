"""Gram statistics: everything a squared-error fit needs from the data, in O(d²).

Stored centered (by column means) so nothing cancels: ``xtx = X_cᵀX_c``,
``xty = X_cᵀy_c``, ``yty = y_cᵀy_c``. From them, for any preprocessing, the
objective of theta = (w, b) in the descent's units is, exactly,

    (c/2)·[ ((w − w*)ᵀ A (w − w*) + RSS*) / n + a² ],   a = u·w + b − ε

with A = S⁻¹ xtx S⁻¹, w* the least-squares coefficients, RSS* their residual sum of
squares (measured by one pass over the data, never by expanding squares),
u = (x̄ − shift)/scale and ε = ȳ − y_shift. Every term is non-negative, so the loss
stays accurate as it nears its minimum.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from threadpoolctl import ThreadpoolController

from ..descent.model import LinearModel
from ..descent.preprocess import Preprocessor
from ..descent.threads import cores
from ..descent.weights import WeightInfo
from .pilot import Pilot, PilotSums
from .syrk import add_upper_gram


#: relative rounding assumed of accumulated Gram statistics, per unit of 1 + |column mean| / its spread
#: (merging partitions subtracts column means, which rounds in proportion to their size); calibrated on
#: designs of condition 1 to 1e6 and R² up to 1 − 1e-12, where the estimates it gives stayed at least
#: 0.9 digits below the measured accuracy (tests/test_exact.py)
GRAM_ROUNDING = 2.0 * np.finfo(np.float64).eps


@dataclass
class GramStats:
    """centered second moments of (X, y)"""

    n: int
    x_mean: np.ndarray
    y_mean: float
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    #: residual sum of squares of the least-squares fit (with intercept), measured from the
    #: residuals (at the pilot, carried, or by the solver's extra pass); None until measured.
    #: Expanding the squares instead would cancel catastrophically for a near-perfect fit.
    rss_min: float | None = None
    #: a weighted fit's statistics are weighted sums (rows weighed by w̃, ``gradfit.descent.weights``), with the
    #: weights' totals kept here; None: unweighted
    weights: WeightInfo | None = None
    #: the residual sums at a pilot answer, gathered by the same pass (``gradfit.optimum.pilot``); None: not gathered
    pilot: PilotSums | None = None

    @property
    def weight_total(self) -> float:
        """Σ w̃ over the rows (the row count when unweighted): what the means divide by"""
        return self.weights.total if self.weights is not None else float(self.n)

    @property
    def finite(self) -> bool:
        """whether every statistic is finite: false when the data holds a NaN or an infinity (or sums too
        large for float64), which every sum of squares carries on"""
        return bool(np.isfinite(self.xtx).all() and np.isfinite(self.xty).all() and np.isfinite(self.yty)
                    and np.isfinite(self.x_mean).all() and np.isfinite(self.y_mean))

    @property
    def rounding(self) -> float:
        """δ = GRAM_ROUNDING·(1 + max |x̄ⱼ|/σⱼ): the relative rounding of the accumulated statistics"""
        spread = np.sqrt(np.maximum(np.diag(self.xtx), 0.0) / self.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(spread > 0.0, np.abs(self.x_mean) / spread, np.inf)
        return GRAM_ROUNDING * (1.0 + float(means.max(initial=0.0)))

    @property
    def x_std(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.xtx), 0.0) / self.n)

    @property
    def x_rms(self) -> np.ndarray:
        """root mean square of each column (about 0, not the mean)"""
        return np.sqrt(np.maximum(np.diag(self.xtx), 0.0) / self.n + self.x_mean**2)

    def second_moments(self, fit_intercept: bool) -> np.ndarray:
        """mean of z·zᵀ over rows, z = [x, 1] (or x): ‖Z·δ‖²/n = δᵀ·M·δ for a change δ of (coef, intercept)"""
        d = len(self.x_mean)
        M = np.empty((d + 1, d + 1))
        M[:d, :d] = self.xtx / self.n + np.outer(self.x_mean, self.x_mean)
        M[:d, d] = M[d, :d] = self.x_mean
        M[d, d] = 1.0
        return M if fit_intercept else M[:d, :d]

    @classmethod
    def merge(cls, parts: "list[GramStats]") -> "GramStats":
        """combine statistics of disjoint row blocks (Chan et al.'s parallel update)"""
        total = parts[0]
        for part in parts[1:]:
            total = _merge_two(total, part)
        return total


def _merge_two(a: GramStats, b: GramStats) -> GramStats:
    wa, wb = a.weight_total, b.weight_total
    total = wa + wb
    dx = b.x_mean - a.x_mean
    dy = b.y_mean - a.y_mean
    f = wa * wb / total if total > 0.0 else 0.0
    share = wb / total if total > 0.0 else 0.0
    weights = None if a.weights is None else a.weights._replace(total=total)
    x_mean = a.x_mean + dx * share
    pilot = None
    if a.pilot is not None and b.pilot is not None:  # b's sums moved to a's pilot first, where the pilots differ
        moved = b.pilot.moved_to(a.pilot.pilot, b.x_mean, b.xtx, b.weight_total, b.rounding)
        pilot = a.pilot.merged(moved, a.x_mean - x_mean, b.x_mean - x_mean)
    return GramStats(
        n=a.n + b.n,
        x_mean=x_mean,
        y_mean=a.y_mean + dy * share,
        xtx=a.xtx + b.xtx + f * np.outer(dx, dx),
        xty=a.xty + b.xty + f * dx * dy,
        yty=a.yty + b.yty + f * dy * dy,
        weights=weights,
        pilot=pilot,
    )


#: rows per block of the statistics pass (a block and its copy stay in the L2 cache)
STATS_BLOCK = 4096


def head_shift(X, y, block: int = STATS_BLOCK) -> np.ndarray:
    """the shift k of the statistics pass: the means of (X, y) over the first block of rows, summed row by row
    whatever X's layout (a column-major X would otherwise be summed in another order, to other bits)"""
    head = np.ascontiguousarray(X[:block], dtype=np.float64)
    return np.append(head.mean(axis=0), float(np.mean(y[:block], dtype=np.float64)))


def numpy_fill(X, y, lo: int, hi: int, shift: np.ndarray, a, z: np.ndarray, wn=None, norms=None) -> None:
    """z ← [X[lo:hi] − shift_x, y[lo:hi] − shift_y, (the ones, kept), r₀ = Z·a (when ``a`` is given)], and
    norms ← Σⱼ wn[j]·z[:, j]² (when ``wn`` is given)"""
    d = X.shape[1]
    np.subtract(X[lo:hi], shift[:d], out=z[:, :d])
    np.subtract(y[lo:hi], shift[d], out=z[:, d])
    if a is not None:
        z[:, d + 2] = z[:, : d + 2] @ a
    if wn is not None:
        np.einsum("ij,ij,j->i", z[:, :d], z[:, :d], wn, out=norms)


class NormObserver(Protocol):
    """what ``block_stats`` shows the rows' norms to: ``observe(norms, start)`` with norms[i] = Σⱼ wⱼ·(xᵢⱼ − kⱼ)²
    for rows start, start + 1, ... (k the pass's shift, w = ``observe.weights``)"""

    weights: np.ndarray

    def __call__(self, norms: np.ndarray, start: int) -> None: ...


def block_stats(X: np.ndarray, y: np.ndarray, block: int = STATS_BLOCK, workers: int | None = None,
                observe: NormObserver | None = None,
                weights: np.ndarray | None = None, pilot: Pilot | None = None, fill=numpy_fill) -> GramStats:
    """Gram statistics of in-memory arrays in one read of X, never copying more than a block.

    Each worker thread takes a contiguous share of the rows and, block by block, copies
    Z = [X − k, y − k_y, 1] into its own small buffer and accumulates ZᵀZ, which holds
    the shifted second moments, cross products and column sums at once (ZᵀW̃Z with row ``weights``
    w̃). The shift k (``head_shift``: the mean of the first block) keeps the final centering free of
    cancellation. With a ``pilot`` answer, each block's residuals at it r₀ = Z·a join Z as one more
    column, so the same product sums Σw̃r₀² and ZᵀW̃r₀ (``GramStats.pilot``), and the exact answer's
    check needs no second read.

    ``fill(X, y, lo, hi, shift, a, z, wn, norms)`` makes a block's copy (``numpy_fill``, or the engines'
    compiled ``stats_pass.CompiledFill``, which reads each row once). ``observe``, when given, is shown
    each block's weighted row norms (``NormObserver``), made in the same copy, so the largest row norm
    rides on the same read (called from several threads).
    Non-finite data gives non-finite statistics (see ``GramStats.finite``).
    """
    n = X.shape[0]
    workers = max(1, min(workers or cores(), -(-n // block)))
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite data is reported by the statistics
        shift = head_shift(X, y, block)
        a = None if pilot is None else pilot.shifted(shift)

        def share(k: int, bounds=np.linspace(0, n, workers + 1).astype(int)) -> np.ndarray:
            return _shifted_moments(X, y, shift, bounds[k], bounds[k + 1], block, observe, weights, a, fill)

        if workers == 1:
            return _centered(n, shift, share(0), weights is not None, pilot)
        # one BLAS thread per worker: the workers already keep every core busy
        with blas_pools().limit(limits=1), ThreadPoolExecutor(workers) as pool:
            parts = pool.map(share, range(workers))
            return _centered(n, shift, sum(parts), weights is not None, pilot)


@functools.cache
def blas_pools() -> ThreadpoolController:
    """the thread pools of the loaded BLAS libraries, found once (finding them looks at every loaded library)"""
    return ThreadpoolController()


def _shifted_moments(X, y, shift, lo: int, hi: int, block: int, observe=None, weights=None, a=None,
                     fill=numpy_fill) -> np.ndarray:
    """ZᵀZ (ZᵀW̃Z with weights) over rows lo:hi for Z = [X − shift_x, y − shift_y, 1], with, when ``a`` is
    given, one more column r₀ = Z·a in Z (so the same product sums ZᵀW̃r₀ and Σw̃r₀²)"""
    d = X.shape[1]
    cols = d + 2 + (a is not None)
    buf = np.empty((block, cols))
    buf[:, d + 1] = 1.0
    norms = None if observe is None else np.empty(block)
    wn = None if observe is None else np.asarray(observe.weights, dtype=np.float64)
    ZtZ = np.zeros((cols, cols), order="F")
    with np.errstate(invalid="ignore", over="ignore"):  # (each thread has its own error state)
        for start in range(lo, hi, block):
            stop = min(start + block, hi)
            z = buf[: stop - start]
            fill(X, y, start, stop, shift, a, z, wn, None if norms is None else norms[: stop - start])
            if weights is None:  # the upper triangle of ZᵀZ added in place (SYRK: 15–20% less than a product)
                add_upper_gram(ZtZ, z)
            else:
                ZtZ += z.T @ (z * weights[start:stop, None])
            if observe is not None:
                observe(norms[: stop - start], start)
    return ZtZ if weights is not None else np.triu(ZtZ) + np.triu(ZtZ, 1).T


def _centered(n: int, shift: np.ndarray, ZtZ: np.ndarray, weighted: bool = False,
              pilot: Pilot | None = None) -> GramStats:
    """centered statistics from the shifted moments: S − W·m·mᵀ with m the shifted mean, W the weight total"""
    d = len(shift) - 1
    total = float(ZtZ[d + 1, d + 1]) if weighted else n
    m = ZtZ[d + 1, : d + 1] / total if total > 0.0 else np.zeros(d + 1)  # rows all of weight 0 add nothing
    S = ZtZ[: d + 1, : d + 1] - total * np.outer(m, m)
    mean = shift + m
    weights = WeightInfo(total, 1.0, 0.0) if weighted else None
    sums = None
    if pilot is not None:  # Σw̃(x − x̄)r₀ = Σw̃(x − k)r₀ − (x̄ − k)·Σw̃r₀
        s0 = float(ZtZ[d + 1, d + 2])
        sums = PilotSums(pilot, float(ZtZ[d + 2, d + 2]), ZtZ[:d, d + 2] - m[:d] * s0, s0)
    return GramStats(n, mean[:d], float(mean[d]), S[:d, :d].copy(), S[:d, d].copy(), float(S[d, d]),
                     weights=weights, pilot=sums)


@dataclass
class Quadratic:
    """the squared-error objective in the descent's units, as Gram algebra"""

    model: LinearModel
    n: int
    A: np.ndarray  # S⁻¹ xtx S⁻¹
    q: np.ndarray  # S⁻¹ xty
    u: np.ndarray  # (x̄ − shift) / scale
    eps: float  # ȳ − y_shift
    yty: float

    @classmethod
    def from_stats(cls, stats: GramStats, prep: Preprocessor, model: LinearModel) -> "Quadratic":
        s = np.asarray(prep.x_scale, dtype=np.float64)
        A = stats.xtx / np.outer(s, s)
        q = stats.xty / s
        u = (stats.x_mean - np.asarray(prep.x_shift)) / s
        return cls(model, stats.n, A, q, u, float(stats.y_mean - prep.y_shift), float(stats.yty))

    def hessian(self) -> np.ndarray:
        """Hessian of the data loss (no penalty) with respect to theta"""
        c, n, d = self.model.loss.c, self.n, self.model.n_features
        H = np.empty((self.model.n_params,) * 2)
        H[:d, :d] = self.A / n + np.outer(self.u, self.u)
        if self.model.fit_intercept:
            H[:d, d] = H[d, :d] = self.u
            H[d, d] = 1.0
        return c * H

    def coef_system(self) -> tuple[np.ndarray, np.ndarray]:
        """(M, r): the data loss as a function of w alone, b at its optimum, is ½wᵀMw − rᵀw + const"""
        c, n = self.model.loss.c, self.n
        if self.model.fit_intercept:
            return c * self.A / n, c * self.q / n
        return c * (self.A / n + np.outer(self.u, self.u)), c * (self.q / n + self.eps * self.u)

    def best_intercept(self, w: np.ndarray) -> float:
        """the b that zeroes a = u·w + b − ε"""
        return self.eps - float(self.u @ w)


def rss_around(dw, offset, rss_star: float, n: int, *, gram=None, factor=None):
    """the residual sum of squares at a point, RSS* + (w − w*)ᵀG(w − w*) + n·offset², around the optimum

    The one form of the squared-error objective that the Gram path, the statistics and the plots
    use: every term is non-negative, so nothing cancels near the optimum. ``dw`` = w − w*, shape (d,)
    or (k, d); ``offset`` = the mean residual (ȳ − x̄·w − b, in whatever units ``dw`` is in), shape ()
    or (k,). G is given as the Gram matrix ``gram`` or as a factor R with RᵀR = G (``factor``, more
    accurate for an ill-conditioned design).
    """
    dw = np.asarray(dw, dtype=np.float64)
    if factor is not None:
        z = dw @ np.asarray(factor, dtype=np.float64).T
        spread = np.einsum("...i,...i->...", z, z)
    else:
        spread = np.einsum("...i,ij,...j->...", dw, np.asarray(gram, dtype=np.float64), dw)
    return rss_star + spread + n * np.square(offset)

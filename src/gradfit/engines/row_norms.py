"""The largest row norm max ‖(xᵢ − shift)·inv_scale‖² (lr="auto"), riding on the statistics pass.

The preprocessing that fixes shift and scale comes from the Gram statistics, so the norm cannot be
computed in the pass that gathers them. ``RowNormSketch`` watches that pass instead: with a guess
of the preprocessing (the first block's means k and spreads σ̂, which standardize a column about
as well as its final statistics do) it measures each row's approximate norm Aᵢ = Σ ((xᵢⱼ − kⱼ)/σ̂ⱼ)²
and keeps the rows whose Aᵢ comes within a factor ``KEEP`` of the largest seen so far. Once the
preprocessing is known, ``largest`` measures those rows exactly and proves that no row left out can
be larger: with ρ = max (σ̂ⱼ / scaleⱼ)² and Δ = ‖(k − shift)·inv_scale‖, every row left out has
‖(xᵢ − shift)·inv_scale‖ ≤ √(ρ·KEEP·A_max) + Δ (the triangle inequality). Where that bound is not
below the exact maximum of the kept rows (a preprocessing far from the guess, data whose rows all
have nearly the same norm, more than ``MAX_KEPT`` rows kept), ``largest`` answers None and the
engine makes the pass of its own (``max_sq_norm``, compiled: one read of X).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .jit_cache import compiling, frozen, jit

#: rows whose approximate norm is at least this share of the largest are kept for the exact measure
KEEP = 0.85
#: sums may be reordered into SIMD lanes (their rounding is far inside the margins of ``largest``)
FAST = {"reassoc", "contract"}
#: kept rows at most; beyond it the sketch gives up (the engine then reads X once more)
MAX_KEPT = 1 << 16


@jit(fastmath=FAST, error_model="numpy", inline="always")
def _row_sq_norm(X, i, shift, inv_scale, t):
    """Σⱼ ((X[i, j] − shift[j])·inv_scale[j])², the terms first written to ``t`` so that the sum's order (SIMD
    lanes) is the same whatever X's layout"""
    for j in range(X.shape[1]):
        t[j] = (X[i, j] - shift[j]) * inv_scale[j]
    s = 0.0
    for j in range(t.shape[0]):
        s += t[j] * t[j]
    return s


@jit(nogil=True, fastmath=FAST, error_model="numpy")
def _max_sq_norm(X, rows, shift, inv_scale):
    """max over rows i (all when ``rows`` is empty) of Σⱼ ((X[i, j] − shift[j])·inv_scale[j])², in float64"""
    n = rows.shape[0] if rows.shape[0] > 0 else X.shape[0]
    t = np.empty(X.shape[1])
    best = 0.0
    for k in range(n):
        best = max(best, _row_sq_norm(X, rows[k] if rows.shape[0] > 0 else k, shift, inv_scale, t))
    return best


@jit(nogil=True, fastmath=FAST, error_model="numpy")
def _sq_norms(X, shift, inv_scale, out):
    """out[i] = Σⱼ ((X[i, j] − shift[j])·inv_scale[j])², in float64"""
    t = np.empty(X.shape[1])
    for i in range(X.shape[0]):
        out[i] = _row_sq_norm(X, i, shift, inv_scale, t)


def sq_norms(X: np.ndarray, shift, inv_scale) -> np.ndarray:
    """‖(xᵢ − shift)·inv_scale‖² of every row, one compiled read with no temporary the size of X"""
    out = np.empty(X.shape[0])
    compiling(_sq_norms, "the row-norm kernel")(frozen(X), np.asarray(shift, dtype=np.float64),
                                                np.asarray(inv_scale, dtype=np.float64), out)
    return out


def max_sq_norm(X: np.ndarray, shift, inv_scale, rows: np.ndarray | None = None) -> float:
    """max over the rows (all, or those listed) of ‖(xᵢ − shift)·inv_scale‖², one compiled read"""
    rows = np.empty(0, np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    return float(compiling(_max_sq_norm, "the row-norm kernel")(frozen(X), rows, np.asarray(shift, dtype=np.float64),
                                                             np.asarray(inv_scale, dtype=np.float64)))


class RowNormSketch:
    """an observer of ``gram.block_stats`` (``observe``): approximate row norms and the rows near the top"""

    def __init__(self, X: np.ndarray, shift: np.ndarray, block: int):
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite data: the statistics report it
            spread = np.asarray(X[:block], dtype=np.float64).std(axis=0)
        self.spread = np.where((spread > 0.0) & np.isfinite(spread), spread, 1.0)
        self.shift = np.asarray(shift[: X.shape[1]], dtype=np.float64)
        self.weights = 1.0 / self.spread**2
        self.tops: list[float] = []  # each block's largest Aᵢ (appends are atomic)
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, their Aᵢ)
        self.n_kept = 0
        self.overflow = False
        self._lock = threading.Lock()

    def __call__(self, norms: np.ndarray, start: int) -> None:
        """take the norms Aᵢ of rows start, start + 1, ... (made by the statistics pass's copy)"""
        self.tops.append(float(norms.max()))
        if self.overflow or not math.isfinite(self.tops[-1]):
            return
        # a row below KEEP·(largest so far) stays below KEEP·(largest of all): it is never needed
        near = np.flatnonzero(norms >= KEEP * max(self.tops))
        with self._lock:
            self.kept.append((near + start, norms[near]))
            self.n_kept += len(near)
            if self.n_kept > MAX_KEPT:
                self._prune()

    def _prune(self) -> None:
        """drop the kept rows that fell below KEEP·(largest); give up when too many remain"""
        rows, norms = (np.concatenate(parts) for parts in zip(*self.kept))
        near = norms >= KEEP * max(self.tops)
        self.kept, self.n_kept = [(rows[near], norms[near])], int(near.sum())
        self.overflow = self.n_kept > MAX_KEPT
        if self.overflow:
            self.kept = []

    def largest(self, X: np.ndarray, shift, inv_scale, margin: float = 1e-12) -> float | None:
        """max over all rows of ‖(xᵢ − shift)·inv_scale‖², or None when the kept rows cannot prove it

        ``margin``: relative rounding allowed between the sketch's norms and X's (more when X was
        rounded to float32 after the sketch saw the float64 data).
        """
        if self.overflow or not self.tops or not math.isfinite(max(self.tops)):
            return None
        rows = np.concatenate([r for r, _ in self.kept]) if self.kept else np.empty(0, np.int64)
        if len(rows) == 0:
            return None
        exact = max_sq_norm(X, shift, inv_scale, rows)
        bound = left_out_bound(KEEP * max(self.tops) * (1.0 + margin), self.shift, self.spread, shift, inv_scale)
        return exact if bound * (1.0 + margin) <= math.sqrt(exact) else None


def left_out_bound(rest: float, center, spread, shift, inv_scale) -> float:
    """an upper bound of ‖(x − shift)·inv_scale‖ over every row x with ‖(x − center)/spread‖² ≤ ``rest``:
    √(ρ·rest) + ‖(center − shift)·inv_scale‖ with ρ = maxⱼ (spreadⱼ·inv_scaleⱼ)² (the triangle inequality).
    The one form of the bound for the sketch above and for the Dask engine's candidates."""
    inv_scale = np.asarray(inv_scale, dtype=np.float64)
    rho = float(np.max((np.asarray(spread, dtype=np.float64) * inv_scale) ** 2, initial=0.0))
    delta = float(np.linalg.norm((np.asarray(center, dtype=np.float64) - np.asarray(shift, dtype=np.float64))
                                 * inv_scale))
    return math.sqrt(rho * rest) + delta

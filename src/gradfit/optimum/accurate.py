"""Residuals in twice the working precision, for the refinement of the exact answer.

A least-squares solution can only be refined as far as its residuals r = y − X·coef − b,
and the gradient Xᵀr, are known: in float64 both lose the digits that cancel. Here
they are computed with error-free transformations (Knuth's TwoSum, Dekker's TwoProduct
with Veltkamp's split) in NumPy, as double-double numbers hi + lo, about 32 digits, so
the refinement's fixed point is the least-squares solution of the data as stored.
Everything is elementwise NumPy: the same numbers on every machine and BLAS.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: 2**27 + 1: Veltkamp's splitter for float64
_SPLITTER = 134217729.0
#: bytes of one float64 temporary per block of rows
BLOCK_BYTES = 1 << 21


def two_sum(a, b):
    """(s, e) with s = fl(a + b) and s + e = a + b exactly"""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a, b):
    """(p, e) with p = fl(a·b) and p + e = a·b exactly (no overflow assumed)"""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def cascade_sum(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo): the sum along ``axis`` in about twice the working precision (pairwise TwoSum)"""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, 0)
    err = np.zeros(a.shape[1:])
    while a.shape[0] > 1:
        m = a.shape[0] // 2
        s, e = two_sum(a[:m], a[m : 2 * m])
        err += e.sum(axis=0)
        a = np.concatenate([s, a[2 * m :]]) if a.shape[0] % 2 else s
    total = a[0] if a.shape[0] else np.zeros(a.shape[1:])
    return two_sum(total, err)


class DD(NamedTuple):
    """a vector of double-double numbers hi + lo"""

    hi: np.ndarray
    lo: np.ndarray

    def __add__(self, other: "DD") -> "DD":
        s, e = two_sum(self.hi, other.hi)
        return DD(*two_sum(s, e + self.lo + other.lo))

    @property
    def value(self) -> np.ndarray:
        """rounded to float64"""
        return self.hi + self.lo


class ResidualPass(NamedTuple):
    """what one pass over the rows tells at (coef, b): Σr² and Dᵀr = [Xᵀr, Σr] for r = y − X·coef − b"""

    ss: float
    grad: DD  # d + 1 entries: Xᵀr, then Σr

    def __add__(self, other: "ResidualPass") -> "ResidualPass":
        return ResidualPass(self.ss + other.ss, self.grad + other.grad)

    @classmethod
    def zero(cls, d: int) -> "ResidualPass":
        return cls(0.0, DD(np.zeros(d + 1), np.zeros(d + 1)))


def residuals(X: np.ndarray, y: np.ndarray, coef: np.ndarray, b: float) -> DD:
    """r = y − X·coef − b for each row, as double-double"""
    p, e = two_prod(np.asarray(X, dtype=np.float64), np.asarray(coef, dtype=np.float64))
    terms = np.column_stack([np.asarray(y, dtype=np.float64), np.full(len(y), -float(b)), -p])
    hi, lo = cascade_sum(terms, axis=1)
    return DD(*two_sum(hi, lo - e.sum(axis=1)))


def gradient(X: np.ndarray, r: DD) -> DD:
    """[Xᵀr, Σr] as double-double"""
    X = np.asarray(X, dtype=np.float64)
    p, e = two_prod(X, r.hi[:, None])
    hi, lo = cascade_sum(p, axis=0)
    lo = lo + e.sum(axis=0) + X.T @ r.lo
    s_hi, s_lo = cascade_sum(r.hi)
    return DD(np.append(hi, s_hi), np.append(lo, s_lo + r.lo.sum()))


def block_rows(d: int) -> int:
    return max(16, BLOCK_BYTES // (8 * (d + 2)))


def weighted(w: np.ndarray, r: DD) -> DD:
    """w·r for each row, as double-double (exact for the hi part's product, TwoProduct)"""
    p, e = two_prod(w, r.hi)
    return DD(*two_sum(p, e + w * r.lo))


def block_pass(X: np.ndarray, y: np.ndarray, coef: np.ndarray, b: float, precise: bool,
               w: np.ndarray | None = None) -> ResidualPass:
    """the residual pass over one block of float64 rows (rows weighed by ``w``: Σw·r², [Xᵀ(w·r), Σw·r])"""
    if precise:
        r = residuals(X, y, coef, b)
        wr = r if w is None else weighted(w, r)
        return ResidualPass(float(r.value @ wr.value), gradient(X, wr))
    r = y - X @ coef - b
    wr = r if w is None else w * r
    grad = np.append(wr @ X, wr.sum())
    return ResidualPass(float(r @ wr), DD(grad, np.zeros_like(grad)))


def residual_pass(X, y, coef, b: float, precise: bool = False, weights: np.ndarray | None = None) -> ResidualPass:
    """Σr² and [Xᵀr, Σr] at (coef, b) over the rows of in-memory X, y, block by block

    ``precise``: residuals and gradient in double-double; else in float64 (a cheap check).
    ``weights``: each row's terms weighed (Σw·r², [Xᵀ(w·r), Σw·r]).
    """
    n, d = np.shape(X)
    coef = np.asarray(coef, dtype=np.float64)
    total, step = ResidualPass.zero(d), block_rows(d)
    for start in range(0, n, step):
        Xb = np.asarray(X[start : start + step], dtype=np.float64)
        yb = np.asarray(y[start : start + step], dtype=np.float64)
        wb = None if weights is None else weights[start : start + step]
        total = total + block_pass(Xb, yb, coef, float(b), precise, wb)
    return total

"""The exact answer of the robust losses (huber, epsilon_insensitive, quantile), so every fit shows its gap.

The objective is the descent's own, in its units: mean loss of r = x̃·w + b − ỹ over the
rows (x̃, ỹ preprocessed; each row's loss times its weight w̃ᵢ in a weighted fit, ``gradfit.descent.weights``),
plus ½·l2·‖w‖² + l1·‖w‖₁. The answer is converted to the data's
units like every fit's.

* ``quantile`` and ``epsilon_insensitive`` are piecewise linear: a linear program, solved by
  scipy's HiGHS interior point with crossover (``method="highs-ipm"``, feasibility tolerances
  1e-10; the dual simplex where it fails), whose answer is a vertex (the dual simplex alone took
  10× longer: 34 s against 3.2 s at 20,000 × 10, the same answer); the vertex is then recomputed
  from the rows that sit exactly on a kink (r = 0, or |r| = ε), by a least-squares solve of those
  equations, and kept when its objective is not worse, so the parameters carry the digits of
  that solve. An L1 part is a
  further linear term; an L2 part is not linear, and such objectives get no exact answer here.
* a loss with a second derivative (``Loss.second``: ``huber``) is solved by Newton's method with
  that second derivative (for Huber: the rows in the quadratic zone), with a backtracking line
  search, from the least-squares answer of the normal equations; for a piecewise-quadratic loss,
  once a step leaves every row's piece unchanged, it was the exact minimizer of that piece, to
  rounding. It stops when the pieces repeat and the gradient is below 1e-13 of its scale (or
  after 100 steps). An L1 part is
  not smooth, and such objectives get no exact answer here.

The products over the rows (ZᵀWZ, Σ|Z|·|g|) are taken block by block (``ROW_BLOCK`` rows), so no
temporary the size of the design is made; the condition number reported is that of the column-equilibrated
normal equations ZᵀW̃Z (``normal.spd_solver``), as for least squares.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from ..descent.losses import Loss
from .normal import SpdSolver, spd_solver

#: HiGHS's primal and dual feasibility tolerances
LP_TOL = 1e-10
#: HiGHS's methods, tried in turn: interior point with crossover to a vertex, then the dual simplex
LP_METHODS = ("highs-ipm", "highs-ds")
#: Newton's method: most steps, and the gradient (relative to its scale) it stops at
NEWTON_STEPS = 100
NEWTON_GTOL = 1e-13
#: rows per block of the products over the rows (a block of a 50-column design: 26 MB)
ROW_BLOCK = 65536
#: rows from which the linear program's solve is announced on stderr (at 100,000 × 10 it takes about 20 s)
LP_ANNOUNCE_ROWS = 10_000


def design(X: np.ndarray, y: np.ndarray, prep, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """(Z, ỹ): the preprocessed rows with a column of ones for the intercept, and the shifted target (Z made
    in place, one array)"""
    n, d = X.shape
    Z = np.empty((n, d + 1 if fit_intercept else d))
    np.subtract(X, np.asarray(prep.x_shift, dtype=np.float64), out=Z[:, :d])
    Z[:, :d] /= np.asarray(prep.x_scale, dtype=np.float64)
    if fit_intercept:
        Z[:, d] = 1.0
    return Z, y - prep.y_shift


def _row_blocks(n: int):
    for start in range(0, n, ROW_BLOCK):
        yield slice(start, min(start + ROW_BLOCK, n))


def weighted_gram(Z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Zᵀ·diag(weights)·Z / n, block by block"""
    G = np.zeros((Z.shape[1], Z.shape[1]))
    for rows in _row_blocks(Z.shape[0]):
        G += (Z[rows] * weights[rows, None]).T @ Z[rows]
    return G / Z.shape[0]


def _gradient_scale(Z: np.ndarray, g: np.ndarray) -> float:
    """max over columns of Σ|Z|·|g| / n: the size the gradient's sums are made of, block by block"""
    total = np.zeros(Z.shape[1])
    for rows in _row_blocks(Z.shape[0]):
        total += np.abs(Z[rows]).T @ np.abs(g[rows])
    return float(total.max()) / Z.shape[0]


def normal_equations(Z: np.ndarray, rw: np.ndarray | None) -> SpdSolver:
    """the solver of the (weighted) normal equations ZᵀW̃Z/n, with their condition number"""
    return spd_solver(weighted_gram(Z, np.ones(Z.shape[0]) if rw is None else rw))


def mean_loss(loss: Loss, r: np.ndarray, rw: np.ndarray | None) -> float:
    """the mean of the rows' losses, each times its weight (``rw``; None: unweighted)"""
    return loss.mean(r) if rw is None else float(rw @ loss.value(r, loss.params)) / len(r)


def objective(loss: Loss, Z, yt, theta, l2: float, l1: float, d: int, rw: np.ndarray | None = None) -> float:
    """mean (weighted) loss + ½·l2·‖w‖² + l1·‖w‖₁ at theta (descent units)"""
    w = theta[:d]
    return mean_loss(loss, Z @ theta - yt, rw) + 0.5 * l2 * float(w @ w) + l1 * float(np.abs(w).sum())


def solve(loss: Loss, Z: np.ndarray, yt: np.ndarray, l2: float, l1: float, d: int,
          rw: np.ndarray | None = None, normal: SpdSolver | None = None) -> tuple[np.ndarray, str] | None:
    """(theta, method) minimizing the objective (rows weighed by ``rw``); None where this module has no
    exact method for it. ``normal``: the normal equations' solver (``normal_equations``), when made already."""
    if loss.name in ("quantile", "epsilon_insensitive") and l2 == 0.0:
        with _announced(f"the {loss.name} loss's exact answer, a linear program over {len(yt):,} rows", len(yt)):
            theta, method = _linear_program(loss, Z, yt, l1, d, rw)
        return theta, f"{method}+vertex"
    if loss.second is not None and l1 == 0.0:
        return _newton(loss, Z, yt, l2, d, rw, normal or normal_equations(Z, rw)), "newton-active-set"
    return None


@contextlib.contextmanager
def _announced(what: str, rows: int):
    """say on stderr that ``what`` is being computed, and how long it took, from LP_ANNOUNCE_ROWS rows"""
    if rows < LP_ANNOUNCE_ROWS:
        yield
        return
    print(f"gradfit: computing {what} (seconds to minutes)...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    print(f"gradfit: computed {what} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def _linear_program(loss: Loss, Z, yt, l1: float, d: int, rw: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """(θ, the HiGHS method that solved it): the piecewise-linear objective as an LP: variables θ (free), then per
    row u ≥ 0 (and v ≥ 0 for the quantile loss; a ≥ |w| for L1)"""
    n, p = Z.shape
    eps, tau = loss.params.epsilon, loss.params.quantile
    I = sp.identity(n, format="csr")
    share = np.full(n, 1.0 / n) if rw is None else rw / n  # each row's share of the mean
    if loss.name == "quantile":  # r = Zθ − y = u − v; cost (1−τ)u + τv
        A_eq, b_eq = sp.hstack([sp.csr_matrix(Z), -I, I]), yt
        cost = np.concatenate([np.zeros(p), (1.0 - tau) * share, tau * share])
        A_ub, b_ub = None, None
    else:  # |Zθ − y| − ε ≤ u; cost u
        A_eq, b_eq = None, None
        A_ub = sp.vstack([sp.hstack([sp.csr_matrix(Z), -I]), sp.hstack([sp.csr_matrix(-Z), -I])])
        b_ub = np.concatenate([yt + eps, eps - yt])
        cost = np.concatenate([np.zeros(p), share])
    bounds = [(None, None)] * p + [(0, None)] * (len(cost) - p)
    if l1 > 0.0:
        A_ub, b_ub, cost, bounds = _with_l1(A_ub, b_ub, cost, bounds, A_eq, p, d, l1)
        if A_eq is not None:
            A_eq = sp.hstack([A_eq, sp.csr_matrix((A_eq.shape[0], d))])
    options = {"primal_feasibility_tolerance": LP_TOL, "dual_feasibility_tolerance": LP_TOL}
    for method in LP_METHODS:
        res = scipy.optimize.linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                                     method=method, options=options)
        if res.status == 0:
            break
    if res.status != 0:
        raise RuntimeError(f"the linear program of the {loss.name} loss failed: {res.message}")
    return _polish_vertex(loss, Z, yt, res.x[:p], l1, d, rw), method


def _with_l1(A_ub, b_ub, cost, bounds, A_eq, p: int, d: int, l1: float):
    """add a_j ≥ |w_j| (two rows each) and l1·Σa to the LP"""
    width = len(cost)
    rows = []
    for sign in (1.0, -1.0):  # ±w_j − a_j ≤ 0
        block = sp.lil_matrix((d, width + d))
        for j in range(d):
            block[j, j], block[j, width + j] = sign, -1.0
        rows.append(block.tocsr())
    pad = sp.hstack([A_ub, sp.csr_matrix((A_ub.shape[0], d))]) if A_ub is not None else None
    A = sp.vstack(([pad] if pad is not None else []) + rows)
    b = np.concatenate(([b_ub] if b_ub is not None else []) + [np.zeros(2 * d)])
    return A, b, np.concatenate([cost, np.full(d, l1)]), bounds + [(0, None)] * d


def _polish_vertex(loss: Loss, Z, yt, theta, l1: float, d: int, rw: np.ndarray | None = None) -> np.ndarray:
    """recompute an LP vertex from the rows on a kink (and the coefficients at 0); keep it if not worse"""
    r = Z @ theta - yt
    eps = loss.params.epsilon if loss.name == "epsilon_insensitive" else 0.0
    scale = max(float(np.abs(yt).max(initial=0.0)), 1.0)
    gap = np.abs(np.abs(r) - eps)
    near = gap <= 1e-7 * scale
    target = yt + np.sign(r) * eps
    rows, rhs = Z[near], target[near]
    zero = np.flatnonzero(np.abs(theta[:d]) <= 1e-9 * max(float(np.abs(theta).max(initial=0.0)), 1.0)) if l1 else []
    if len(zero):
        rows = np.vstack([rows, np.eye(Z.shape[1])[zero]])
        rhs = np.concatenate([rhs, np.zeros(len(zero))])
    if len(rhs) < Z.shape[1]:
        return theta
    polished, *_ = np.linalg.lstsq(rows, rhs, rcond=None)
    before = objective(loss, Z, yt, theta, 0.0, l1, d, rw)
    after = objective(loss, Z, yt, polished, 0.0, l1, d, rw)
    return polished if after <= before else theta


def _newton(loss: Loss, Z, yt, l2: float, d: int, rw: np.ndarray | None, normal: SpdSolver) -> np.ndarray:
    """Newton's method with the loss's second derivative, with backtracking, from the least-squares answer of
    the normal equations (``normal``); for a piecewise-quadratic loss (Huber) exact once the rows' pieces
    repeat"""
    n, p = Z.shape
    mask = np.r_[np.ones(d), np.zeros(p - d)]
    theta = normal.solve(Z.T @ (yt if rw is None else rw * yt) / n)
    f = objective(loss, Z, yt, theta, l2, 0.0, d, rw)
    zone = None
    for _ in range(NEWTON_STEPS):
        r = Z @ theta - yt
        g = loss.deriv(r, loss.params) * (1.0 if rw is None else rw)
        grad = Z.T @ g / n + l2 * mask * theta
        weights = loss.second(r, loss.params) * (1.0 if rw is None else rw)
        scale = _gradient_scale(Z, g) + 1e-300
        if zone is not None and np.array_equal(weights, zone) and np.abs(grad).max() <= NEWTON_GTOL * scale:
            break
        zone = weights
        H = weighted_gram(Z, weights) + np.diag(l2 * mask)
        H += np.eye(p) * (1e-12 * (np.trace(H) / p + 1e-300))  # a step even where few rows are inside
        step = np.linalg.solve(H, grad)
        t = 1.0
        while t > 1e-12:
            trial = theta - t * step
            f_trial = objective(loss, Z, yt, trial, l2, 0.0, d, rw)
            if f_trial <= f - 1e-4 * t * float(grad @ step) or f_trial <= f and t < 1.0:
                break
            t *= 0.5
        if not math.isfinite(f_trial) or f_trial > f:
            break
        theta, f = trial, f_trial
    return theta


def exact_solution(engine, model, prep):
    """the ExactSolution of a robust loss's objective from the engine's data; None where there is none
    (the data not in memory, or a penalty this module cannot solve exactly)"""
    from .exact import ExactSolution

    data = engine.design()
    if data is None:
        return None
    d = model.n_features
    Z, yt = design(*data, prep, model.fit_intercept)
    rw = engine.weights
    normal = normal_equations(Z, rw)
    solved = solve(model.loss, Z, yt, model.l2, model.l1, d, rw, normal)
    if solved is None:
        return None
    theta, method = solved
    coef, intercept = prep.to_original(theta.tolist(), model)
    value = objective(model.loss, Z, yt, theta, model.l2, model.l1, d, rw)
    return ExactSolution(theta.tolist(), coef, intercept, value, method, normal.condition)

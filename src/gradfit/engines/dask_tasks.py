"""What the Dask engine's tasks run on a worker: one partition's numbers, through the NumPy engine.

Every task receives a partition *source* and loads it as NumPy arrays: either the
arrays themselves (a persisted partition, resolved by Dask) or a ``LazyBlock`` whose
small graph is computed right there, so a partition read from Parquet or CSV is
read by the worker that uses it and dropped when the task ends (bounded memory).
The arithmetic is the NumPy engine's and the training loop's, never a copy of it.
In a weighted fit a partition's y has a second column, its rows' weights (``split``), so
the weights travel with their rows through shuffles and carried batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import dask
import numpy as np
import pyarrow as pa

from ..descent.batching import batches
from ..descent.model import LinearModel
from ..descent.preprocess import Preprocessor
from ..errors import DataError
from ..io.checks import check_X
from ..optimum.accurate import ResidualPass, residual_pass
from ..optimum.gram import GramStats, block_stats
from ..optimum.normal import head_pilot
from ..training.state import EpochTask, TrainState
from ..training.train import smooth_gradient, take_step
from .dask_data import release_memory
from .jit_cache import frozen_rows
from .numpy import NumpyEngine
from .row_norms import left_out_bound, sq_norms
from .stats_pass import CompiledFill


@dataclass
class LazyBlock:
    """one partition as one culled Dask graph of its (feature rows, targets), computed on the worker that runs
    the task; X and y share the graph's reading tasks, so the partition's source is read once"""

    rows: Any  # dask.delayed: [the partition's feature rows, its targets]
    label: str = "a partition"

    @classmethod
    def of(cls, X, y, label: str) -> "LazyBlock":
        """the block of the delayed chunks X and y of one partition (made with ``optimize_graph=False``: culled
        apart, their graphs would each hold the partition's reader under another key, and each run it)"""
        (rows,) = dask.optimize(dask.delayed([X, y]))
        return cls(rows, label)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        try:
            X, y = dask.compute(self.rows, scheduler="sync")[0]
        except (ValueError, TypeError, OSError, pa.ArrowException) as exc:  # e.g. text deep inside a CSV
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{self.label} cannot be read: {reason[:160]}") from None
        release_memory()  # the reader's buffers go back to the system before the arithmetic starts
        return X, y


@dataclass
class Carry:
    """rows at the end of one segment that start the batch finished in the next"""

    X: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls, n_features: int, dtype, weighted: bool = False) -> "Carry":
        return cls(np.empty((0, n_features), dtype=dtype), np.empty((0, 2) if weighted else 0, dtype=dtype))

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class EpochJob:
    """what a worker needs to make the loop's steps: the epoch's task, the model and preprocessing, the dtype"""

    task: EpochTask
    model: LinearModel
    prep: Preprocessor
    dtype: str


def load(source, dtype: str, perm=None) -> tuple[np.ndarray, np.ndarray]:
    """a partition's (X, y) in ``dtype``, rows permuted by ``perm`` = (seed, epoch, partition) when given"""
    X, y = source.load() if isinstance(source, LazyBlock) else source
    X = np.asarray(X, dtype=dtype).reshape(len(y), -1)
    y = np.asarray(y, dtype=dtype)
    y = y if y.ndim == 2 and y.shape[1] == 2 else y.reshape(-1)
    return permuted(X, y, perm)


def permuted(X: np.ndarray, y: np.ndarray, perm=None) -> tuple[np.ndarray, np.ndarray]:
    """the rows permuted by ``perm`` = (seed, epoch, partition), or as they are (None)"""
    if perm is None:
        return X, y
    idx = np.random.default_rng(list(perm)).permutation(len(y))
    return X[idx], y[idx]


def load_measured(source, dtype: str, perm, model, prep, theta) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """(the segment ``load`` gives, the partition's ``block_loss_grad`` at ``theta``) from one read: an epoch's
    reads also measure the objective at the parameters it starts from (``DaskEngine.run_epoch``)"""
    X, y = load(source, dtype)
    return permuted(X, y, perm), loss_grad_sums(X, y, dtype, model, prep, theta)


def _engine(X, y, job: EpochJob) -> NumpyEngine:
    """a NumPy engine over these rows, prepared with the job's model and preprocessing"""
    return prepared(X, y, job.model, job.prep, job.dtype)


def split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(targets, weights) of a partition's y (the weights are its second column in a weighted fit)"""
    return (y[:, 0], np.asarray(y[:, 1], dtype=np.float64)) if y.ndim == 2 else (y, None)


def prepared(X, y, model, prep, dtype: str) -> NumpyEngine:
    y, w = split(y)
    engine = NumpyEngine(X, y, dtype=dtype)
    engine.weigh(w)
    engine.prepare(model, prep)
    return engine


#: rows of each partition kept as candidates for the largest row norm
NORM_CANDIDATES = 32


@dataclass
class NormCandidates:
    """the rows of one partition that may hold its largest row norm under any preprocessing, and a bound on the rest.

    The rows kept are those farthest from the partition's mean in its own spread: h(x) =
    ‖(x − m)/τ‖². Every other row has h(x) ≤ ``rest``, so for a preprocessing x̃ = (x − s)/σ,
    ‖x̃‖ ≤ √(ρ·rest) + ‖(m − s)/σ‖ with ρ = maxⱼ (τⱼ/σⱼ)² (the triangle inequality).
    """

    rows: np.ndarray  # (k, d) float64
    mean: np.ndarray
    spread: np.ndarray  # column standard deviations, 1 where a column is constant
    rest: float  # the largest h(x) of the rows not kept; -inf when every row is kept

    def bound(self, shift: np.ndarray, scale: np.ndarray) -> float:
        """an upper bound of ‖(x − shift)/scale‖² over the partition's rows not kept"""
        if self.rest == -math.inf:
            return 0.0
        return left_out_bound(self.rest, self.mean, self.spread, shift, 1.0 / np.asarray(scale, dtype=np.float64)) ** 2


def norm_candidates(X: np.ndarray, stats: GramStats, k: int = NORM_CANDIDATES) -> NormCandidates:
    """the ``k`` rows of X farthest from its mean in its own spread (see ``NormCandidates``)"""
    spread = np.where(stats.x_std > 0.0, stats.x_std, 1.0)
    n = len(X)
    if n <= k:
        return NormCandidates(np.array(X, dtype=np.float64), stats.x_mean, spread, -math.inf)
    h = sq_norms(X, stats.x_mean, 1.0 / spread)
    order = np.argpartition(h, n - k - 1)
    return NormCandidates(np.array(X[order[n - k :]], dtype=np.float64), stats.x_mean, spread,
                          float(h[order[n - k - 1]]))


class Summary(NamedTuple):
    """what the one pass before the epochs learns of some partitions: Gram statistics and row-norm candidates"""

    stats: GramStats
    norms: list[NormCandidates]


def block_summary(source, label: str, names: list[str], target: str, norms: bool = True) -> Summary:
    """one partition, read once: finiteness (DataError naming the partition and column for NaN / inf),
    Gram statistics in float64 with the residual sums at a pilot fitted to the partition's first rows
    (``GramStats.merge`` carries every partition's to one pilot), and, with ``norms``, the candidates for the
    largest row norm"""
    X, y = load(source, "float64")  # float64 whatever the training dtype: the statistics carry the exact answer
    y, w = split(y)
    X, y = frozen_rows(X, y)
    # one thread: Dask runs the partitions in parallel already
    stats = block_stats(X, y, workers=1, weights=w, pilot=head_pilot(X, y, w), fill=CompiledFill(X, y))
    if not stats.finite:  # a NaN or an infinity reaches every sum of squares; only then is each column looked at
        check_X(X, names, source=label)
        check_X(y.reshape(-1, 1), [target], source=label)
    # weighted norms: a pass of their own
    return Summary(stats, [norm_candidates(X, stats)] if norms and w is None else [])


def merge_summaries(parts: list[Summary]) -> Summary:
    """the summary of disjoint partitions together"""
    return Summary(GramStats.merge([p.stats for p in parts]), [c for p in parts for c in p.norms])


def block_loss_grad(source, dtype: str, model, prep, theta) -> tuple[int, float, np.ndarray]:
    """(rows, Σ per-row loss, Σ per-row gradient) of one partition"""
    X, y = load(source, dtype)
    return loss_grad_sums(X, y, dtype, model, prep, theta)


def loss_grad_sums(X, y, dtype: str, model, prep, theta) -> tuple[int, float, np.ndarray]:
    """(rows, Σ per-row loss, Σ per-row gradient) of these rows, in their order"""
    loss, grad = prepared(X, y, model, prep, dtype).loss_grad(theta)
    m = len(y)
    return m, loss * m, grad * m


def add_loss_grads(parts: list) -> tuple[int, float, np.ndarray]:
    """sum the (rows, loss sum, gradient sum) of disjoint partitions"""
    m, loss, grad = parts[0]
    for pm, pl, pg in parts[1:]:
        m, loss, grad = m + pm, loss + pl, grad + pg
    return m, loss, grad


def block_residual_pass(source, dtype: str, coef, intercept: float, precise: bool) -> ResidualPass:
    X, y = load(source, dtype)
    y, w = split(y)
    return residual_pass(X, y, coef, intercept, precise, w)


def add_residual_passes(parts: list) -> ResidualPass:
    """sum the residual passes of disjoint partitions (double-double sums stay double-double)"""
    return sum(parts[1:], parts[0])


def block_max_row_sq_norm(source, dtype: str, model, prep) -> float:
    X, y = load(source, dtype)
    return prepared(X, y, model, prep, dtype).max_row_sq_norm()


def run_segment(job: EpochJob, block: tuple[np.ndarray, np.ndarray], carried: tuple[TrainState, Carry], last: bool):
    """the loop's steps over one segment of the epoch's row order (``block``: its rows, from ``load``,
    read ahead by another task); returns (state, carry).

    Batches follow the global order: the rows left over at the end of a segment (fewer
    than a batch) travel with the parameters and open the first batch of the next one.
    """
    state, carry = carried
    X, y = block
    B, nc = job.task.batch_size, len(carry)
    total = nc + len(y)
    stop = total if last else total - total % B
    first = 0
    if nc and stop:  # finish the batch the previous segment began
        first = min(B, stop) - nc
        head = _engine(np.concatenate([carry.X, X[:first]]), np.concatenate([carry.y, y[:first]]), job)
        _step(head, job, state, slice(None))
    if stop - nc > first:
        _run_batches(_engine(X[first : stop - nc], y[first : stop - nc], job), job, state)
    rest = max(stop - nc, 0)
    left = Carry(np.concatenate([carry.X[stop:], X[rest:]]), np.concatenate([carry.y[stop:], y[rest:]]))
    return state, left


def _run_batches(engine: NumpyEngine, job: EpochJob, state: TrainState) -> None:
    """the loop's steps over these rows in order: the NumPy engine's compiled epoch where it applies"""
    if engine.run_epoch(job.task, state, None):
        return
    for rows in batches(engine.n_rows, job.task.batch_size, None):
        _step(engine, job, state, rows)


def _step(engine: NumpyEngine, job: EpochJob, state: TrainState, rows) -> None:
    """exactly the generic loop's minibatch step"""
    _, grad = smooth_gradient(engine, job.model, state.theta, rows)
    take_step(engine, job.model, job.task, state, grad)

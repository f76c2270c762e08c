"""The Dask engine: data spread over a dask.distributed cluster, or larger than memory.

Full batch: one distributed pass gathers the Gram statistics of every partition and
merges them in a tree (``GramStats.merge``); the solver then runs each epoch in
O(d²) on the client. Without the Gram path every epoch is one distributed
map-reduce of the loss and gradient.

Minibatch and per-sample: the model travels to the data. The epoch's row order is
cut into segments (one per partition); a task on the worker holding a segment runs
that segment's steps with the NumPy engine and the training loop's own step, and
hands the parameters, optimizer state and any unfinished batch's rows on to the
next segment's task; the segment after it is read meanwhile by a task of its own,
on another worker when one is free. Row orders (``order=`` engine option):

* ``shuffle=False``: rows 0..n-1, the NumPy engine's order;
* ``order="global"``: the NumPy engine's seeded permutation
  (``gradfit.descent.batching.epoch_order``), made by Dask (``X[order]``) once per epoch,
  so the trajectory equals the NumPy engine's; this moves every row each epoch;
* ``order="partition"``: no data moves: partitions are visited in the order
  ``default_rng([seed, epoch]).permutation(n_partitions)`` and the rows of
  partition p in ``default_rng([seed, epoch, p]).permutation(rows_p)``; batches
  still run across partition boundaries (see ``partition_order``). The choice for
  data larger than memory.
* ``order="auto"`` (default): "global" when the partitions are held in the workers'
  memory (``persist``) and take at most ``GLOBAL_SHARE`` of it, else "partition", said in
  one line on stderr at the first shuffled epoch; ``DaskEngine.order`` is the order that runs.

Before the epochs, one pass reads each partition once (``gram``): its finiteness, its
Gram statistics, its residual sums at a pilot answer (fitted to the partition's first rows;
merging carries them to one pilot) and a few candidate rows for the largest row norm (lr="auto" with
minibatches), which decide that norm without another pass when the bound on the other
rows allows (``dask_tasks.NormCandidates``). The exact answer reads the data again
only when neither the statistics nor the residuals at the pilot can promise its digits
(``gradfit.optimum.normal.gram_answer``, ``pilot_check``).
"""

from __future__ import annotations

import operator
import sys
import time
from dataclasses import replace

import dask
import dask.array as da
from dask.utils import parse_bytes
import numpy as np
import pyarrow as pa
from distributed import KilledWorker, as_completed, futures_of
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import DataError, GradfitError, OptionError
from ..optimum.gram import GramStats
from . import dask_tasks as tasks
from .base import Engine, Rows
from .dask_cluster import connect
from .dask_data import PARTITION_BYTES, as_dask_arrays, read_dataset
from .numpy import NumpyEngine

__all__ = ["DaskEngine", "read_dataset", "partition_order"]

#: engine options handed to LocalCluster when gradfit starts one
CLUSTER_OPTIONS = ("n_workers", "threads_per_worker", "memory_limit", "processes")
ORDERS = ("auto", "global", "partition")
#: segments of a minibatch epoch read ahead of the one training
READ_AHEAD = 1
#: order="auto" shuffles across workers (order="global") only data held in memory and at most this share
#: of it: the shuffled copy and the pieces it is cut into take several times the data (workers holding
#: 0.67 GB of 4 GB paused and one was restarted at 95% of its limit in benchmarks/dask_bench.py)
GLOBAL_SHARE = 1 / 8
#: data up to this size (in float64) is gathered for a QR of the design when the exact answer needs one
GATHER_BYTES = 256 * 2**20

#: seconds between looks at the workers' memory while waiting for a task
WATCH_SECONDS = 2.0


def partition_order(sizes, epoch: int, seed: int) -> np.ndarray:
    """The global row order of an ``order="partition"`` epoch.

    Parameters
    ----------
    sizes : sequence of int
        Rows in each partition, in storage order.
    epoch, seed : int

    Returns
    -------
    ndarray of shape (sum(sizes),)
        Partitions in the seeded visiting order, each one's rows in its own seeded order.

    Examples
    --------
    >>> partition_order([2, 3], epoch=0, seed=0).tolist()
    [0, 1, 3, 4, 2]
    """
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    visit = np.random.default_rng([seed, epoch]).permutation(len(sizes))
    return np.concatenate([starts[p] + np.random.default_rng([seed, epoch, p]).permutation(sizes[p])
                           for p in visit])


class DaskEngine(Engine):
    """Dask arrays, Dask DataFrames or Parquet / CSV files on a dask.distributed cluster.

    Parameters
    ----------
    X : dask array or DataFrame of shape (n_rows, n_features), array-like, or a path / glob
    y : dask array or Series of shape (n_rows,), or the target column's name (X a path or DataFrame)
    dtype : {"float64", "float32"}
    device : "cpu"
    scheduler : str or distributed.Client, optional
        A scheduler address (``"tcp://host:8786"``) or a Client; default: the active
        Client, else a LocalCluster sized to this machine, started here and closed by ``close``.
    persist : bool or "auto"
        Keep the partitions in the workers' memory; "auto": when they take at most half of it.
        Otherwise each pass reads each partition from its source again.
    order : {"auto", "global", "partition"}
        The shuffled row order of minibatch epochs (see the module docstring); "auto":
        "global" for small data held in the workers' memory, else "partition". The attribute
        ``order`` is the order that runs, ``order_asked`` the option.
    progress : bool
        Show a progress bar during the one-off distributed passes.
    connect_timeout : str
        How long to try reaching ``scheduler`` (a deadline that holds: the scheduler must answer).
    paused_timeout : float
        Seconds every worker may stay paused at its memory limit before the fit stops
        with a message saying what to change (paused workers make no progress).
    partition_bytes : int or str
        Memory budget of one partition of Parquet files (X a path or glob), decoded as
        float64, e.g. ``"64MB"``: whole row groups are gathered up to it, so a worker
        holds a piece of a file instead of all of it.
    n_workers, threads_per_worker, memory_limit, processes
        For the LocalCluster started when there is no scheduler.
    """

    name = "dask"
    fast_epochs = True
    lazy_data = True
    vector = NumpyEngine.vector
    to_list = NumpyEngine.to_list
    norm = NumpyEngine.norm
    prox_l1 = NumpyEngine.prox_l1

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu", scheduler=None,
                 persist="auto", order: str = "auto", progress: bool = True,
                 connect_timeout: str = "10s", paused_timeout: float = 60.0,
                 partition_bytes: int | str = PARTITION_BYTES, **cluster_options):
        _check_options(device, persist, order, cluster_options)
        partition_bytes = _byte_count(partition_bytes)
        if not isinstance(paused_timeout, (int, float)) or isinstance(paused_timeout, bool) or paused_timeout <= 0:
            raise OptionError(f"engine option paused_timeout={paused_timeout!r} must be a number of seconds > 0")
        self.paused_timeout = float(paused_timeout)
        self.dtype = np.dtype(dtype)
        self.order_asked, self.persist_asked, self.progress = order, persist, progress
        self._order_said, self._norms = False, None
        self._start_sums = None  # (θ an epoch started from, its loss and gradient sums), from that epoch's reads
        self.target = y if isinstance(y, str) else "y"
        self.conn = connect(scheduler, connect_timeout, **cluster_options)
        self.client = self.conn.client
        try:
            with dask.config.set(scheduler=self.client):
                self.X, self.y, self.feature_names = as_dask_arrays(X, y, partition_bytes=partition_bytes)
            self.n_rows, self.n_features = (int(s) for s in self.X.shape)
            self.sizes = [int(c) for c in self.X.chunks[0]]
            self.data_bytes = int(self.X.nbytes + self.y.nbytes)
            self.persisted = self._persisted(persist)
            self.sources = self._sources()
            self.order = order if order != "auto" else self._auto_order()
        except BaseException:
            self.conn.close()
            raise

    @staticmethod
    def read_dataset(path, target: str, features):
        """(X, y, feature names) of a file or glob, lazily (see ``dask_data.read_dataset``)"""
        return read_dataset(path, target, features)

    def _persisted(self, persist) -> bool:
        """whether the partitions are to be held in the workers' memory ("auto": when they take at most half)"""
        return self.data_bytes <= 0.5 * self.conn.total_memory() if persist == "auto" else bool(persist)

    def _auto_order(self) -> str:
        return "global" if self.persisted and self.data_bytes <= GLOBAL_SHARE * self.conn.total_memory() else "partition"

    def _sources(self) -> list:
        """what each partition's tasks receive: its persisted arrays, or a lazy block to read"""
        if not self.persisted:
            xs, ys = (a.to_delayed(optimize_graph=False).ravel() for a in (self.X, self.y))
            return [tasks.LazyBlock.of(xd, yd, self._label(p)) for p, (xd, yd) in enumerate(zip(xs, ys))]
        self.X, self.y = self.client.persist([self.X, self.y])
        return _block_sources(self.X, self.y)

    def weigh(self, weights) -> None:
        """the weights become y's second column (partition by partition), so they travel with their rows"""
        super().weigh(weights)
        if weights is None:
            return
        bounds = np.cumsum([0, *self.sizes])
        w = da.concatenate([da.from_array(weights[a:b], chunks=b - a) for a, b in zip(bounds[:-1], bounds[1:])])
        self.y = da.stack([self.y, w], axis=1).rechunk({1: 2})
        self.sources = self._sources()

    def _label(self, p: int) -> str:
        start = sum(self.sizes[:p])
        return f"partition {p} (rows {start}-{start + self.sizes[p] - 1})"

    def gram(self) -> GramStats:
        """the one pass before the epochs: each partition is read once for its finiteness, its Gram
        statistics (float64 whatever the training dtype), its residual sums at a pilot answer fitted to its
        own first rows (``gradfit.optimum.pilot``: merged, they give the exact answer's check without another
        pass) and its candidates for the largest row norm (where the fit will ask for it, ``row_norm_wanted``)"""
        futures = [self.client.submit(tasks.block_summary, src, self._label(p), self.feature_names, self.target,
                                      self.row_norm_wanted, pure=False)
                   for p, src in enumerate(self.sources)]
        summary = self._reduce(futures, tasks.merge_summaries, "Gram statistics")
        self._norms = summary.norms
        return summary.stats

    def loss_grad(self, theta, rows: Rows = None):
        if rows is not None:
            return self._batch_engine(rows).loss_grad(theta)
        sums = self._measured_at(theta)
        m, loss, grad = sums if sums is not None else self._reduce(
            self._map(tasks.block_loss_grad, self.model, self.prep, theta), tasks.add_loss_grads)
        return float(loss / m), (grad / m).astype(self.dtype, copy=False)

    def _measured_at(self, theta):
        """the sums the last epoch's reads measured at the parameters it started from, when ``theta`` is those
        (taken once), else None"""
        found, self._start_sums = self._start_sums, None
        if found is not None and found[0].shape == np.shape(theta) and np.array_equal(found[0], theta):
            return found[1]
        return None

    def measures_in_epoch(self, task) -> bool:
        """partitions read from their source each epoch (not persisted): the epoch's reads measure too"""
        return not self.persisted

    def _batch_engine(self, rows) -> NumpyEngine:
        """a NumPy engine over exactly these rows, gathered from the cluster"""
        X, y = self.client.compute([self.X[rows], self.y[rows]], sync=True)
        return tasks.prepared(X, y, self.model, self.prep, self.dtype.name)

    def residual_pass(self, coef, intercept, precise=False):
        futures = self._map(tasks.block_residual_pass, np.asarray(coef, dtype=np.float64), float(intercept), precise)
        return self._reduce(futures, tasks.add_residual_passes, "residuals")

    def design(self) -> tuple[np.ndarray, np.ndarray] | None:
        """the data gathered to the client when it is at most ``GATHER_BYTES`` in float64, else None"""
        if self.n_rows * (self.n_features + 1) * 8 > GATHER_BYTES:
            return None
        X, y = self.client.compute([self.X, self.y], sync=True)
        return np.asarray(X, dtype=np.float64), np.asarray(tasks.split(np.asarray(y))[0], dtype=np.float64).reshape(-1)

    def max_row_sq_norm(self) -> float:
        """from the candidates of the statistics pass when they decide it, else by a pass of its own"""
        found = self._norm_from_candidates()
        if found is not None:
            return found
        return float(self._reduce(self._map(tasks.block_max_row_sq_norm, self.model, self.prep), max))

    def _norm_from_candidates(self) -> float | None:
        """the largest row norm among the candidates, when it beats the bound on every row not kept"""
        if not self._norms:
            return None
        rows = np.concatenate([c.rows for c in self._norms])
        best = tasks.prepared(rows, np.zeros(len(rows)), self.model, self.prep, self.dtype.name).max_row_sq_norm()
        shift, scale = np.asarray(self.prep.x_shift, dtype=np.float64), np.asarray(self.prep.x_scale, dtype=np.float64)
        bound = max(c.bound(shift, scale) for c in self._norms) + (1.0 if self.model.fit_intercept else 0.0)
        margin = 1.0 + 4.0 * (self.n_features + 2) * np.finfo(self.dtype).eps  # the engine's rounding of a norm
        return best if best >= bound * margin else None

    def run_epoch(self, task, state, order) -> bool:
        """one minibatch / per-sample epoch, the model travelling from segment to segment.

        Each segment's rows are read (and permuted) by a task of their own, ``READ_AHEAD`` segments
        ahead of the training: while one worker trains on segment i, another reads segment i + 1.
        The steps, and so the history, are those of the chain without reading ahead.
        """
        self._say_order(order)
        plan, _held = self._epoch_plan(order, task.seed, state.epoch)  # _held: alive until the chain has run
        job = tasks.EpochJob(task, self.model, self.prep, self.dtype.name)
        # with measure_start, each segment that is a whole partition as read also sums its loss and gradient at
        # the epoch's start, in the partition order loss_grad sums them in (not so in the global order)
        start = np.array(state.theta, copy=True) if self.measure_start and _held is None else None
        self._start_sums, sums = None, [None] * len(plan)
        carried = (replace(state), tasks.Carry.empty(self.n_features, self.dtype, self.weights is not None))
        chain = []
        for i, (source, perm) in enumerate(plan):
            if i > READ_AHEAD:  # bounded: a segment is read only when the one READ_AHEAD + 1 back has trained
                self._result(chain[i - READ_AHEAD - 1])
            if start is None:
                block = self.client.submit(tasks.load, source, job.dtype, perm, pure=False)
            else:
                both = self.client.submit(tasks.load_measured, source, job.dtype, perm, self.model, self.prep, start,
                                          pure=False)
                block = self.client.submit(operator.getitem, both, 0, pure=False)
                sums[perm[2] if perm is not None else i] = self.client.submit(operator.getitem, both, 1, pure=False)
            carried = self.client.submit(tasks.run_segment, job, block, carried, i == len(plan) - 1, pure=False)
            chain.append(carried)
        done, _ = self._result(carried)
        if start is not None:
            self._start_sums = (start, self._reduce(sums, tasks.add_loss_grads))
        state.theta, state.opt_state, state.step, state.avg = done.theta, done.opt_state, done.step, done.avg
        return True

    def _say_order(self, order) -> None:
        """one line, once, when order='auto' chose the partition order for a shuffled epoch"""
        if order is None or self._order_said or self.order_asked != "auto" or self.order != "partition":
            return
        self._order_said = True
        why = ("the partitions are read from their source each epoch (persist=False)" if self.persist_asked is False
               else f"the data ({_gb(self.data_bytes)}) is more than 1/{round(1 / GLOBAL_SHARE)} of the Dask workers' "
                    f"memory ({_gb(self.conn.total_memory())}), too much to shuffle across them each epoch")
        print(f"gradfit: {why}, so minibatch epochs visit the partitions in a seeded order (order='partition': "
              f"no data moves) instead of the NumPy engine's order (order='global')", file=sys.stderr)

    def _epoch_plan(self, order, seed: int, epoch: int):
        """[(segment source, row permutation spec)], and what must stay alive until the epoch ends"""
        if order is None:
            return [(src, None) for src in self.sources], None
        if self.order == "partition":
            visit = np.random.default_rng([seed, epoch]).permutation(len(self.sources))
            return [(self.sources[p], (seed, epoch, int(p))) for p in visit], None
        shuffled = self.client.persist([self.X[order], self.y[order]])
        return [(src, None) for src in _block_sources(*shuffled)], shuffled

    def _map(self, fn, *args) -> list:
        return [self.client.submit(fn, src, self.dtype.name, *args, pure=False) for src in self.sources]

    def _reduce(self, futures: list, combine, label: str | None = None):
        """combine per-partition results in a tree (fixed pairing, so results repeat exactly)"""
        if label is not None and self.progress:
            _show_progress(futures, label, self.client)
        while len(futures) > 1:
            futures = [self.client.submit(combine, futures[i : i + 8], pure=False)
                       for i in range(0, len(futures), 8)]
        return self._result(futures[0])

    def _result(self, future):
        """a task's result, watching the workers' memory while waiting; errors of the data as one line"""
        paused_since = None
        while True:
            try:
                return future.result(timeout=WATCH_SECONDS)
            except TimeoutError:
                paused_since = self._watch_memory(paused_since)
            except GradfitError:
                raise
            except KilledWorker as exc:
                raise DataError(f"a Dask worker died while running {getattr(exc, 'task', 'a task')!r} (out of memory?); give the "
                                f"workers more memory or write the data in smaller pieces") from None
            except (ValueError, TypeError, OSError, pa.ArrowException) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise DataError(f"the data cannot be read on the cluster: {reason[:160]}") from None

    def _watch_memory(self, since: float | None) -> float | None:
        """when every worker has been paused at its memory limit for ``paused_timeout`` seconds, stop and say why"""
        workers = list(self.client.scheduler_info(n_workers=-1)["workers"].values())
        if not workers or any(w.get("status") != "paused" for w in workers):
            return None
        now = time.monotonic()
        since = now if since is None else since
        if now - since >= self.paused_timeout:
            limits = sorted({int(w.get("memory_limit") or 0) for w in workers})
            limit = " or ".join(f"{b / 2**30:.3g} GiB" for b in limits) if limits and limits[0] else "their limit"
            raise DataError(f"every Dask worker has been paused for {now - since:.0f} s, its memory full at "
                            f"{limit}: nothing can progress; give the workers more memory (memory_limit), fewer "
                            f"threads each (threads_per_worker), or write the data in smaller pieces "
                            f"(Parquet row groups, CSV files)")
        return since

    def close(self) -> None:
        """drop the partitions held on the cluster; close the client and cluster gradfit started"""
        self.sources = []
        self.X = self.y = None
        self.conn.close()


def _check_options(device: str, persist, order: str, cluster_options: dict) -> None:
    if device != "cpu":
        raise OptionError(f"option device={device!r}: the dask engine runs on 'cpu' workers")
    if persist not in ("auto", True, False):
        raise OptionError(f"engine option persist={persist!r} must be 'auto', True or False")
    if order not in ORDERS:
        raise OptionError(f"engine option order={order!r} is not one of {list(ORDERS)}")
    for name in cluster_options:
        if name not in CLUSTER_OPTIONS:
            raise OptionError(f"engine option {name}={cluster_options[name]!r} is not known to the dask engine; "
                              f"it takes scheduler, persist, order, progress, connect_timeout, paused_timeout, "
                              f"partition_bytes, "
                              f"{', '.join(CLUSTER_OPTIONS)}")


def _byte_count(value) -> int:
    """bytes from a number or a size such as "64MB"; OptionError naming the option otherwise"""
    try:
        count = parse_bytes(value) if isinstance(value, str) else value
    except ValueError:
        count = None
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count <= 0:
        raise OptionError(f"engine option partition_bytes={value!r} must be a size in bytes > 0, "
                          f"such as 134217728 or '128MB'")
    return int(count)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.3g} GB"


def _block_sources(X, y) -> list:
    """(X block, y block) futures of persisted collections, in row order"""
    return list(zip(_block_futures(X), _block_futures(y)))


def _block_futures(a) -> list:
    by_key = {f.key: f for f in futures_of(a)}
    return [by_key[k] for k in dask.core.flatten(a.__dask_keys__())]


def _show_progress(futures: list, label: str, client) -> None:
    """a Rich bar that advances as partitions finish"""
    console = Console(stderr=True)
    columns = (TextColumn(f"{label} (distributed pass)"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=len(futures))
        for _ in as_completed(futures, loop=client.loop):
            bar.advance(task)

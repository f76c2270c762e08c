"""The NumPy engine: vectorized, compiled epochs, and never copies X.

Preprocessing is folded into the parameters instead of the data: with v = w / s,
r = X·v + (b − shift·v + y_shift) − y, and the gradient is ((Xᵀr − shift·Σr) / s)·c/m.
A full pass computes X·v and Xᵀr block by cache-sized block, so X is read once per
epoch. Minibatch and per-sample epochs run in a compiled kernel (``gradfit.engines.kernels``)
that makes exactly the generic loop's steps.

Engine options (``engine_options=``): ``kernels`` ("auto" or "off": the plain loop),
``shuffle_mode`` ("exact": a full row permutation, the default and the same order as
every engine; "block": shuffle blocks of ``shuffle_block`` consecutive rows, which keeps
memory reads sequential but walks the rows in another order than the other engines).
"""

from __future__ import annotations

import numpy as np

from ..descent.model import soft_threshold
from ..descent.optim import OptState, average
from ..errors import OptionError
from ..optimum.accurate import ResidualPass, residual_pass
from ..optimum.gram import STATS_BLOCK, GramStats, blas_pools, block_stats, head_shift
from ..optimum.normal import head_pilot
from ..training.state import EpochTask, TrainState
from . import kernels, residuals, row_norms
from .base import Engine, Rows
from .jit_cache import frozen, frozen_rows
from .stats_pass import CompiledFill

#: bytes of X per block of a full pass (stays in the L2 cache between X·v and Xᵀr)
PASS_BYTES = 1 << 20

#: default bytes of X per block of the block shuffle
SHUFFLE_BYTES = 1 << 16

OPTIONS = {"kernels": ("auto", "off"), "shuffle_mode": ("exact", "block")}


def check_options(options: dict) -> dict:
    """the engine options with defaults filled in; OptionError names the first bad one"""
    out = {"kernels": "auto", "shuffle_mode": "exact", "shuffle_block": None}
    for key, value in options.items():
        if key not in out:
            raise OptionError(f"option engine_options[{key!r}] is not known to the numpy engine; "
                              f"known: {sorted(out)}")
        if key in OPTIONS and value not in OPTIONS[key]:
            raise OptionError(f"option engine_options[{key!r}]={value!r} is not one of {list(OPTIONS[key])}")
        if key == "shuffle_block" and not (isinstance(value, int) and value >= 1):
            raise OptionError(f"option engine_options['shuffle_block']={value!r} must be an integer >= 1")
        out[key] = value
    return out


def block_order(n_rows: int, epoch: int, seed: int, block: int) -> np.ndarray:
    """rows in seeded random order of blocks of ``block`` consecutive rows, each block in order"""
    n_blocks = -(-n_rows // block)
    starts = np.random.default_rng([seed, epoch, 1]).permutation(n_blocks) * block
    rows = (starts[:, None] + np.arange(block)).ravel()
    return rows[rows < n_rows]


def _float_array(values) -> np.ndarray:
    """values as a float32 or float64 array, copied only when they are neither"""
    values = np.asarray(values)
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)


class NumpyEngine(Engine):
    """NumPy arrays in float64 or float32"""

    name = "numpy"
    fast_epochs = True
    checks_values = True

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu", **options):
        self.options = check_options(options)
        self.dtype = np.dtype(dtype)
        # the statistics (and so the exact answer) come from the data as given, in float64
        self.source = (X, y) if self.dtype != np.float64 else None
        X = np.asarray(X)  # an array as given, a DataFrame's values (column-major)
        # a conversion copies anyway: into the kernels' row order (a float64 DataFrame's values fitted in float32
        # are then not copied a second time, to rows, at the first epoch)
        self.X = X if X.dtype == self.dtype else X.astype(self.dtype, order="C")
        self.y = np.ascontiguousarray(y, dtype=self.dtype).reshape(-1)
        self.n_rows, self.n_features = self.X.shape
        self._sketch: row_norms.RowNormSketch | None = None
        self._row_norm: float | None = None  # max ‖x̃ᵢ‖², once measured

    @classmethod
    def for_sparse(cls, shape: tuple[int, int]) -> type:
        """sparse X goes to the sparse variant of this engine (``engines.numpy_sparse``)"""
        from .numpy_sparse import SparseNumpyEngine

        return SparseNumpyEngine

    w = None  # the weights in the descent's dtype (None: unweighted)

    def weigh(self, weights) -> None:
        super().weigh(weights)
        self.w = None if weights is None else np.asarray(weights, dtype=self.dtype)

    def prepare(self, model, prep) -> None:
        super().prepare(model, prep)
        self._row_norm = None
        self._fold: kernels.Fold | None = None
        self.shift = np.asarray(prep.x_shift, dtype=self.dtype)
        self.scale = np.asarray(prep.x_scale, dtype=self.dtype)
        self.y_shift = self.dtype.type(prep.y_shift)

    def vector(self, values) -> np.ndarray:
        return np.array(values, dtype=self.dtype)

    def fold(self) -> kernels.Fold:
        """the preprocessing as the kernels take it, in float64 (made once per ``prepare``: the shifts and scales
        are tuples, whose conversion costs milliseconds an epoch on wide data)"""
        if self._fold is None:
            shift, scale = (np.asarray(a, dtype=np.float64) for a in (self.prep.x_shift, self.prep.x_scale))
            self._fold = kernels.Fold(shift, 1.0 / scale, float(self.prep.y_shift), self.model.fit_intercept)
        return self._fold

    def to_list(self, v: np.ndarray) -> list[float]:
        return np.asarray(v, dtype=np.float64).tolist()

    def norm(self, v) -> float:
        return float(np.linalg.norm(v))

    def prox_l1(self, theta, threshold):
        d = self.n_features
        out = theta.copy()
        out[:d] = soft_threshold(theta[:d], threshold)
        return out

    def _raw_params(self, theta):
        """(v, offset) so that r = X·v + offset − y in raw units"""
        d = self.n_features
        v = theta[:d] / self.scale
        b = theta[d] if self.model.fit_intercept else 0.0
        return v, b - self.shift @ v + self.y_shift

    def _pass_rows(self) -> int:
        return max(64, PASS_BYTES // max(1, self.X.strides[0]))

    def full_pass(self, v, offset) -> tuple[float, np.ndarray, float]:
        """(Σ loss, Xᵀg, Σg) over all rows for g the loss's derivative, in one read of X, block by block (with one
        BLAS thread when ``one_thread``)"""
        if self.one_thread:
            with blas_pools().limit(limits=1):
                return self._full_pass(v, offset)
        return self._full_pass(v, offset)

    def _full_pass(self, v, offset) -> tuple[float, np.ndarray, float]:
        total, xtg, gsum = 0.0, np.zeros(self.n_features, dtype=self.dtype), 0.0
        step = self._pass_rows()
        for start in range(0, self.n_rows, step):
            Xb = self.X[start : start + step]
            wb = None if self.w is None else self.w[start : start + step]
            parts = self._row_parts(Xb, self.y[start : start + step], v, offset, wb)
            total, xtg, gsum = total + parts[0], xtg + parts[1], gsum + parts[2]
        return total, xtg, gsum

    def _row_parts(self, X, y, v, offset, w=None) -> tuple[float, np.ndarray, float]:
        """(Σ loss, Xᵀg, Σg) over these rows (each row's terms times its weight w)"""
        loss = self.model.loss
        r = X @ v + offset - y
        g, value = loss.deriv(r, loss.params), loss.value(r, loss.params)
        if w is not None:
            g, value = g * w, value * w
        return float(value.sum()), g @ X, float(g.sum())

    def loss_grad(self, theta, rows: Rows = None):
        v, offset = self._raw_params(theta)
        if rows is None:
            total, xtg, gsum = self.full_pass(v, offset)
            m = self.n_rows
        else:
            X, y = self.X[rows], self.y[rows]
            total, xtg, gsum = self._row_parts(X, y, v, offset, None if self.w is None else self.w[rows])
            m = y.shape[0]
        grad_w = (xtg - self.shift * gsum) / self.scale / m
        grad = np.append(grad_w, gsum / m) if self.model.fit_intercept else grad_w
        return float(total / m), grad.astype(self.dtype, copy=False)

    def residual_pass(self, coef, intercept, precise=False) -> ResidualPass:
        X, y = self.data()
        if precise or self.weights is not None:
            return residual_pass(X, y, coef, intercept, precise, self.weights)
        return residuals.residual_pass(X, y, coef, intercept)

    def design(self) -> tuple[np.ndarray, np.ndarray]:
        X, y = self.data()
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """the data as given (the statistics and the exact answer come from it whatever the dtype): float32 or
        float64 arrays as they are (their readers compute in float64), anything else in float64"""
        X, y = self.source if self.source is not None else (self.X, self.y)
        return _float_array(X), _float_array(y).reshape(-1)

    def max_row_sq_norm(self) -> float:
        """from the rows the statistics pass kept (``row_norms``), else in a compiled pass of its own"""
        if self.weights is not None:
            return self._weighted_max_row_sq_norm()
        if self._row_norm is None:
            inv_scale = 1.0 / np.asarray(self.prep.x_scale, dtype=np.float64)
            shift = np.asarray(self.prep.x_shift, dtype=np.float64)
            margin = 1e-12 if self.dtype == np.float64 else 1e-5  # the sketch saw the float64 data
            best = self._sketch.largest(self.X, shift, inv_scale, margin) if self._sketch is not None else None
            self._row_norm = best if best is not None else row_norms.max_sq_norm(self.X, shift, inv_scale)
        return self._row_norm + (1.0 if self.model.fit_intercept else 0.0)

    def _weighted_max_row_sq_norm(self) -> float:
        """max over rows of w̃ᵢ·(‖x̃ᵢ‖² (+1 with an intercept)), block by block"""
        best, extra = 0.0, 1.0 if self.model.fit_intercept else 0.0
        for start in range(0, self.n_rows, 65536):
            xt = np.subtract(self.X[start : start + 65536], self.shift, order="C")  # row sums whatever X's layout
            xt /= self.scale
            norms = (np.einsum("ij,ij->i", xt, xt) + extra) * self.weights[start : start + 65536]
            best = max(best, float(norms.max()))
        return best

    def gram(self) -> GramStats:
        """the statistics in one read of X, which also keeps the rows that may have the largest norm (where the fit
        will ask for it, ``row_norm_wanted``)"""
        X, y = self.data()
        rows = self._rows_copy(X)
        X, y = frozen_rows(X, y)
        pilot, fill = head_pilot(X, y, self.weights), CompiledFill(X, y, rows)
        wanted = self.weights is None and self.row_norm_wanted  # weighted norms: a pass of their own
        self._sketch = row_norms.RowNormSketch(X, head_shift(X, y), STATS_BLOCK) if wanted else None
        stats = block_stats(X, y, weights=self.weights, observe=self._sketch, pilot=pilot, fill=fill)
        if rows is not None:
            self.X = rows  # the kernels' row-major X (``_row_major``), copied by the same read
        return stats

    def _rows_copy(self, X: np.ndarray) -> np.ndarray | None:
        """an empty row-major array for the statistics pass to copy X into, where the kernels' epochs will want X
        row-major and it is not (a DataFrame's values); None otherwise"""
        if not (self.rows_wanted and X is self.X and not X.flags.c_contiguous and self.options["kernels"] != "off"):
            return None
        return np.empty(X.shape, dtype=X.dtype)

    def kernels_take(self, task: EpochTask) -> bool:
        """whether the compiled kernels take an epoch of ``task`` (an optimizer with a compiled rule, kernels on)"""
        return getattr(task.optimizer, "rule", None) is not None and self.options["kernels"] != "off"

    def measures_beside(self, task: EpochTask) -> bool:
        """the kernels release the interpreter, and ``run_epoch`` copies the state's arrays before its steps"""
        return self.kernels_take(task)

    def run_epoch(self, task: EpochTask, state: TrainState, order) -> bool:
        """a minibatch / per-sample epoch in the compiled kernel (on copies of the state's arrays, written back as
        new arrays); False where it does not apply"""
        if not self.kernels_take(task):
            return False
        optimizer = task.optimizer
        if order is not None and self.options["shuffle_mode"] == "block":
            order = block_order(self.n_rows, state.epoch, task.seed, self._shuffle_block())
        model = self.model
        theta = np.array(state.theta, dtype=np.float64)
        averaging = task.average_from is not None
        avg = np.array(state.avg if averaging and state.avg is not None else theta, dtype=np.float64)
        slots = np.array([np.asarray(a, dtype=np.float64) for a in state.opt_state.slots]).reshape(-1, len(theta))
        fold = self.fold()
        descent = kernels.Descent(theta, slots, avg, task.average_from if averaging else -1, optimizer.hyper,
                                  float(task.lr), model.loss.params)
        t0 = int(state.opt_state.step)
        order = order if order is not None else np.empty(0, np.int64)
        t = self._kernel_epoch(task, order, fold, kernels.Penalty(float(model.l2), float(model.l1)), descent, t0)
        state.step += t - t0
        state.theta = theta.astype(self.dtype, copy=False)
        state.opt_state = OptState(t, tuple(slots.astype(self.dtype, copy=False)))
        if averaging:
            state.avg = avg.astype(self.dtype, copy=False)
        return True

    def _kernel_epoch(self, task: EpochTask, order: np.ndarray, fold, penalty, descent, t0: int) -> int:
        """the compiled epoch on this engine's rows (``order`` empty: row order); returns the step count after"""
        rows = kernels.Rows(frozen(self._row_major()), frozen(self.y), order, order.size > 0, int(task.batch_size),
                            frozen(self.weights if self.weights is not None else np.empty(0)), self.weights is not None)
        return kernels.run_epoch(rows, fold, penalty, descent, t0, task.optimizer, self.model.loss.deriv, average)

    def _row_major(self) -> np.ndarray:
        """X with its rows contiguous, as the kernels read it row by row: X itself, or (for an F-order X such
        as a DataFrame's values) a row-major copy made once, by the statistics pass where ``rows_wanted`` said
        so, else at the first epoch that needs it"""
        if not self.X.flags.c_contiguous:
            self.X = np.ascontiguousarray(self.X)
        return self.X

    def _shuffle_block(self) -> int:
        return self.options["shuffle_block"] or max(1, SHUFFLE_BYTES // max(1, self.X.strides[0]))

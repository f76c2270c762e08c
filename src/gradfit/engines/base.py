"""What an engine is: where the numbers live, and the loss and gradient over rows.

An engine holds (X, y), applies the preprocessing inside its arithmetic, and answers
``loss_grad(theta, rows)``: the mean over the rows of the model's loss
(``gradfit.descent.losses``) of the residuals, each row's term weighed by its weight w̃ᵢ in a
weighted fit (``gradfit.descent.weights``: weights scaled to mean 1), and its gradient with respect to theta. Everything else (optimizers, penalties, schedules,
batch order, history) lives in the trainer and is shared by all engines.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Sequence

import numpy as np

from ..descent.model import LinearModel, soft_threshold
from ..descent.preprocess import Preprocessor
from ..errors import DataError
from ..optimum.accurate import ResidualPass
from ..optimum.gram import GramStats

Vector = Any  # an engine's parameter vector: Vec, numpy array, torch tensor, ...
Rows = Any  # None (all rows), a slice, or an array of row indices


class Engine(ABC):
    """the protocol every engine implements; see the python engine for a readable one"""

    name: ClassVar[str]
    n_rows: int
    n_features: int

    #: what the engine can do, read by shared code (which never tests an engine's name):
    #: its own minibatch / per-sample epochs (``run_epoch``)
    fast_epochs: ClassVar[bool] = False
    #: full-batch epochs from Gram statistics pay off against a pass over its data
    gram_pays: ClassVar[bool] = True
    #: it takes lazy data (Dask collections, file paths) that the estimator passes on unread; such an
    #: engine reads a file itself with ``read_dataset(path, target, features) -> (X, y, names)``
    lazy_data: ClassVar[bool] = False
    #: its ``gram`` reads in-memory float data that nobody checked for NaN and infinity: the solver checks the
    #: values from the statistics (``data.check_values``; the engine's ``data()`` gives the arrays for the
    #: message), and the estimator leaves them to it
    checks_values: ClassVar[bool] = False
    #: optimizer backends it offers (``make_optimizer``); "gradfit" is gradfit's own optimizers
    optimizer_backends: ClassVar[tuple[str, ...]] = ("gradfit",)
    #: the row weights w̃ (scaled to mean 1, ``gradfit.descent.weights``) as float64, or None: unweighted
    weights: np.ndarray | None = None
    #: set by ``prepare`` before ``gram``: whether the fit will ask ``max_row_sq_norm`` (lr="auto" in minibatches or
    #: on a loss with a kink). An engine that keeps the largest row norm's candidates in its statistics pass may
    #: skip them when not; ``max_row_sq_norm`` then makes a pass of its own, if it is asked after all (a divergence)
    row_norm_wanted: bool = True
    #: set by ``prepare`` before ``gram``: whether minibatch or per-sample epochs will read the rows (an engine that
    #: keeps its rows in another layout for them may make that copy in its statistics pass)
    rows_wanted: bool = False
    #: set by the training loop while ``loss_grad`` over all rows runs beside an epoch's steps
    #: (``measures_beside``): the pass keeps to its calling thread, the other core being busy
    one_thread: bool = False
    #: set by the training loop around an epoch whose own reads may also measure ``loss_grad`` at the parameters
    #: the epoch starts from (``measures_in_epoch``); the engine then answers that ``loss_grad`` from them
    measure_start: bool = False

    def weigh(self, weights: np.ndarray | None) -> None:
        """weigh every row's term by ``weights`` (checked, scaled to mean 1) from now on; None: unweighted.
        Called before ``gram`` and ``prepare``."""
        self.weights = weights

    @classmethod
    def for_sparse(cls, shape: tuple[int, int]) -> "type[Engine]":
        """the engine class that takes a scipy.sparse X of this shape in this engine's place; DataError if none"""
        n, d = shape
        raise DataError(f"X is a scipy.sparse matrix: engine={cls.name!r} does not take sparse input; use "
                        f"engine='numpy' (sparse kernels, X never densified), or densify X yourself "
                        f"(X.toarray(): {n * d * 8 / 2**30:.3g} GiB for {n}×{d} float64)")

    def prepare(self, model: LinearModel, prep: Preprocessor) -> None:
        """fix the loss, intercept and preprocessing used by ``loss_grad``"""
        self.model = model
        self.prep = prep

    @abstractmethod
    def gram(self) -> GramStats:
        """centered Gram statistics of the raw data (one pass)"""

    @abstractmethod
    def vector(self, values: Sequence[float]) -> Vector:
        """a parameter vector of this engine holding ``values``"""

    @abstractmethod
    def to_list(self, v: Vector) -> list[float]:
        """a parameter vector as Python floats"""

    @abstractmethod
    def loss_grad(self, theta: Vector, rows: Rows = None) -> tuple[float, Vector]:
        """data loss over ``rows`` at theta, and its gradient"""

    @abstractmethod
    def residual_pass(self, coef, intercept: float, precise: bool = False) -> ResidualPass:
        """Σr² and [Xᵀr, Σr] over all rows for r = y − X·coef − intercept, in the raw data's units
        (Σw̃r² and [Xᵀ(w̃r), Σw̃r] in a weighted fit).

        For the exact answer's check and refinement (``gradfit.optimum.exact``); ``precise``: residuals
        and sums in double-double (``gradfit.optimum.accurate``), else in float64.
        """

    def design(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(X, y) as float64 arrays in this process's memory, for a QR of the design; None if not at hand
        (the weights are ``weights``)"""
        return None

    @abstractmethod
    def max_row_sq_norm(self) -> float:
        """max over rows of w̃ᵢ·(‖x̃ᵢ‖² (plus 1 with an intercept)): the sharpest single-row curvature"""

    def norm(self, v: Vector) -> float:
        return math.sqrt(sum(x * x for x in self.to_list(v)))

    def prox_l1(self, theta: Vector, threshold: float) -> Vector:
        """soft-threshold the coefficients (not the intercept) by ``threshold``"""
        values = self.to_list(theta)
        d = self.model.n_features
        return self.vector([soft_threshold(t, threshold) for t in values[:d]] + values[d:])

    def run_epoch(self, task, state, order) -> bool:
        """take over one minibatch / per-sample epoch (``task``: a ``training.state.EpochTask``); False to decline"""
        return False

    def measures_beside(self, task) -> bool:
        """whether ``loss_grad`` over all rows may run on a thread while ``run_epoch`` takes an epoch of ``task``
        on another TrainState: the epoch runs in compiled code that leaves the interpreter free, and writes new
        arrays into the state it is given, never into the arrays it holds"""
        return False

    def measures_in_epoch(self, task) -> bool:
        """whether ``run_epoch`` of ``task``, with ``measure_start`` set, may measure ``loss_grad`` over all rows at
        the parameters it starts from with the reads it makes anyway (the next ``loss_grad`` at those parameters
        then makes no pass of its own); it must write new arrays into the state it is given, as for
        ``measures_beside``"""
        return False

    def make_optimizer(self, config):
        """the optimizer of a backend in ``optimizer_backends`` other than "gradfit" (an engine that declares
        such a backend implements this; ``config.validate`` refuses the others before a fit starts)"""
        raise NotImplementedError(f"engine {self.name!r} declares optimizer backends {self.optimizer_backends} "
                                  f"but does not build their optimizers")

    def mask(self) -> Vector:
        """1 on coefficients, 0 on the intercept"""
        return self.vector(self.model.mask())

    def close(self) -> None:
        """release what the engine holds (clusters, devices)"""

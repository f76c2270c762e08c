"""The one training loop every engine shares; stopping rules; the divergence guard.

Each epoch walks the batches of a seeded order; each step asks the engine for the
gradient over the batch's rows, adds the L2 penalty's gradient, lets the optimizer
propose an update, and applies the L1 proximal step. After each epoch the full
training objective is measured (cheaply, through Gram statistics, where available)
for the history, the stopping rule and the divergence guard.

Where an engine's compiled epochs leave the interpreter free (``Engine.measures_beside``), that
measurement runs on a thread while the next epoch's steps run ahead on a copy of the state; the loop
takes those steps up once the measured epoch is recorded and the fit goes on, and drops them when it
stops there. The history, the stopping epoch and the result are the same as one after the other.
Where the epochs read the data from its source and the engine can measure with those reads
(``Engine.measures_in_epoch``: Dask partitions not held in memory), the next epoch runs ahead the same
way and its reads give the measurement: one read an epoch instead of two.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Sequence

from ..descent.batching import EpochOrders, batches, n_batches
from ..descent.model import LinearModel
from ..descent.optim import Optimizer, average
from ..descent.preprocess import Preprocessor
from ..descent.schedules import Schedule
from ..descent.threads import beside, two_cores
from ..errors import DivergenceError
from .history import Entry, History
from .state import UNMEASURED, EpochTask, Mark, Measured, Outcome, TrainState, take_up
from .validation import Best, HeldOut

#: the objective may grow to this many times its starting value (+1) before we call it divergence
BLOWUP = 1e8

#: from this many rows, the next epoch's order is drawn on a thread while an engine's compiled epoch runs
ORDERS_AHEAD_ROWS = 1 << 16
#: from this many rows, the objective after an epoch is measured on a thread while the next epoch's steps run
BESIDE_FROM_ROWS = 1 << 16


def improved(value: float, best: float, tol: float | None) -> bool:
    """whether ``value`` is below ``best`` by more than ``tol`` relative to it (by anything when tol is None)"""
    margin = (tol or 0.0) * abs(best) if math.isfinite(best) else 0.0
    return value < best - margin


@dataclass
class EpochInfo:
    """what a callback receives after each epoch; it returns True to stop the fit there.

    ``history`` is the fit's History so far: its last entry is this epoch's when the epoch was
    recorded (``record_every``), with the coefficients in the data's units.
    """

    epoch: int  # epochs done
    step: int  # optimizer steps done
    loss: float  # training objective at the end of the epoch
    lr: float  # the epoch's learning rate
    epochs_total: int  # epochs this run was given
    history: History | None = None
    val_loss: float | None = None  # the validation loss at the end of the epoch (with held-out data)
    continued_from: int | None = None  # the step this run took up a recorded history at (resume); None: a new fit


def smooth_gradient(engine, model: LinearModel, theta, rows=None, mask=None) -> tuple[float, Any]:
    """the data loss over ``rows`` and the gradient of loss + L2 penalty (``mask``: the engine's mask)"""
    loss, grad = engine.loss_grad(theta, rows)
    if model.l2 > 0.0:
        grad = grad + model.l2 * (theta * (engine.mask() if mask is None else mask))
    return loss, grad


def take_step(engine, model: LinearModel, task: EpochTask, state: TrainState, grad) -> None:
    """one optimizer step, then the L1 proximal step, then the average, on ``state``"""
    theta, state.opt_state = task.optimizer.update(grad, state.opt_state, state.theta, task.lr)
    if model.l1 > 0.0:
        theta = engine.prox_l1(theta, task.lr * model.l1)
    state.theta = theta
    state.step += 1
    if task.average_from is not None:
        state.avg = average(state.avg, theta, state.step, task.average_from)


@dataclass
class Loop:
    """the training loop over one prepared engine"""

    engine: Any
    model: LinearModel
    prep: Preprocessor
    optimizer: Optimizer
    schedule: Schedule
    batch_size: int | None
    shuffle: bool
    seed: int
    history: History
    record_every: Any = 1
    tol: float | None = None
    n_iter_no_change: int = 5
    callbacks: Sequence[Callable] = ()
    #: lr at which the fit diverged -> (the step to suggest or None, the sentence that suggests it)
    advice: Callable[[float], tuple[float | None, str]] | None = None
    #: theta -> whether it is within tol of the exact answer; when given, it is the stopping rule
    at_optimum: Callable[[Any], bool] | None = None
    #: keep the average of the iterates after this step, and report it (None: report the iterate)
    average_from: int | None = None
    #: held-out rows: their loss is recorded beside the training objective
    held_out: HeldOut | None = None
    #: stop once the validation loss has not improved for ``n_iter_no_change`` epochs (needs ``held_out``)
    early_stopping: bool = False
    #: (epoch, its order being drawn) from before the loop was made (``batching.draw_ahead``); None: none
    first_order: tuple | None = None
    _t0: float = field(default=0.0, init=False)
    _orders: EpochOrders | None = field(default=None, init=False)
    _continued_from: int | None = field(default=None, init=False)
    _beside: bool = field(default=False, init=False)
    _in_epoch: bool = field(default=False, init=False)
    _start_objective: float | None = field(default=None, init=False)

    @cached_property
    def mask(self):
        """the engine's vector of 1 on coefficients, 0 on the intercept"""
        return self.engine.mask()

    def objective_grad(self, theta, rows=None) -> tuple[float, Any]:
        """training objective (loss + penalty) and its smooth gradient; objective only on all rows"""
        loss, grad = smooth_gradient(self.engine, self.model, theta, rows, self.mask)
        if rows is not None or self.model.alpha == 0.0:
            return loss, grad
        return loss + self.model.penalty(self.engine.to_list(theta)), grad

    def apply(self, state: TrainState, grad, lr: float) -> None:
        """one optimizer step (then the L1 proximal step, then the average) on ``state``"""
        take_step(self.engine, self.model, self.task(lr), state, grad)

    def reported(self, state: TrainState):
        """the parameters a fit reports and records: the average of the iterates when averaging, else the iterate"""
        return state.avg if self.average_from is not None and state.avg is not None else state.theta

    def task(self, lr: float) -> EpochTask:
        return EpochTask(self.optimizer, self.batch_size, float(lr), self.seed, self.average_from)

    def record(self, state: TrainState, objective: float, grad, lr: float, val_loss: float | None = None,
               original: tuple[list[float], float] | None = None) -> None:
        """one history entry at the reported parameters (objective and gradient norm given at them; ``original``:
        the parameters in the data's units, when already at hand)"""
        coef, intercept = original if original is not None else self.original(state)
        if val_loss is None and self.held_out is not None:
            val_loss = self.held_out.loss_at(coef, intercept)
        entry = Entry(state.epoch, state.step, objective, coef, intercept,
                      self.engine.norm(grad), lr, self._elapsed(), val_loss)
        self.history.append(entry)

    def original(self, state: TrainState) -> tuple[list[float], float]:
        """the reported parameters in the data's units"""
        return self.prep.to_original(self.engine.to_list(self.reported(state)), self.model)

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def run(self, state: TrainState, epochs: int) -> Outcome:
        """run up to ``epochs`` epochs from ``state``; Ctrl-C stops cleanly after recording"""
        prior = self.history.time[-1] if len(self.history) else 0.0
        self._t0 = time.perf_counter() - prior
        self._continued_from = self.history.step[-1] if len(self.history) else None
        self._start_objective = None
        outcome = Outcome(state)
        lr = self.schedule(state.epoch)
        objective, grad = math.nan, None
        mark = Mark.take(state, self.history)
        self._orders = self._epoch_orders()
        self._beside = self._measures_beside()
        self._in_epoch = self._whole_epochs() and self.engine.measures_in_epoch(self.task(0.0))
        try:
            # the start's validation loss is recorded, but the best epoch is one of the epochs run (as scikit-learn's)
            ahead, (objective, grad, at_start, original) = self._measure(state, not len(self.history), epochs > 0,
                                                                         epochs > 1)
            self._start_objective = objective
            if at_start is not None:
                self.record(state, *at_start, lr, original=original)
            mark = Mark.take(state, self.history)
            for k in range(epochs):
                lr = self.schedule(state.epoch)
                if ahead is None:
                    self._steps(state, grad, lr, more=k + 1 < epochs)
                else:
                    take_up(state, ahead)
                state.epoch += 1
                due = self._due(state)
                if self._reads_objective(due, last=k + 1 == epochs):
                    ahead, (objective, grad, at_end, original) = self._measure(
                        state, due or self.held_out is not None, k + 1 < epochs, k + 2 < epochs)
                    self._guard(objective, state)
                else:
                    ahead, (objective, grad, at_end, original) = None, UNMEASURED
                    self._guard_parameters(state)
                val_loss = self._validate(state, at_end[0], original) if at_end is not None else None
                converged = self._track(state, objective)
                mark = Mark.take(state, self.history)  # a whole epoch: where an interrupted fit stops
                if due:
                    self.record(state, *at_end, lr, val_loss, original)
                if self._should_stop(state, objective, lr, epochs, outcome, converged, val_loss):
                    break  # the steps made ahead, if any, are dropped
        except KeyboardInterrupt:
            mark.restore(state, self.history)  # back to the last whole epoch, so a resumed fit continues exactly
            outcome.interrupted, outcome.stopped_by = True, "interrupted"
            lr = self.schedule(max(state.epoch - 1, 0))
            objective, grad = self.objective_grad(state.theta)
        finally:
            self._orders.close()
        if objective is None:  # stopped at an epoch not measured (at the exact answer)
            objective, grad = self.objective_grad(state.theta)
        if not len(self.history) or self.history.step[-1] != state.step:
            self.record(state, *self._at_reported(state, objective, grad), lr)
        return outcome

    def _measure(self, state: TrainState, at_reported: bool, next_epoch: bool,
                 more: bool) -> tuple[TrainState | None, Measured]:
        """(ahead, measured): the objective and gradient at ``state`` (and at the reported parameters when
        ``at_reported``). Measured beside (``_beside``), with ``next_epoch`` to run, that epoch's steps run
        meanwhile on a copy of the state, ``ahead`` (else None), which the caller takes up or drops; ``more``:
        another epoch follows that one. Measured in the epoch (``_in_epoch``), that epoch runs first, its reads
        measuring the objective at ``state`` for the engine's next ``loss_grad`` there."""
        if self._in_epoch and next_epoch:
            self.engine.measure_start = True
            try:
                ahead = self._run_ahead(state, more)
            finally:
                self.engine.measure_start = False
            return ahead, self._measured(state, at_reported)
        if not (self._beside and next_epoch):
            return None, self._measured(state, at_reported)
        self.engine.one_thread = True  # its pass keeps to the measuring thread: the steps take the other core
        try:
            measured = beside(self._measured, state, at_reported, name="gradfit-measure")
            return self._run_ahead(state, more), measured()
        finally:
            self.engine.one_thread = False

    def _run_ahead(self, state: TrainState, more: bool) -> TrainState:
        """the next epoch's steps on a copy of ``state`` (the engine writes new arrays into it, as
        ``Engine.measures_beside`` and ``Engine.measures_in_epoch`` promise), which the caller takes up or drops"""
        ahead = replace(state)
        self._steps(ahead, None, self.schedule(state.epoch), more)
        return ahead

    def _reads_objective(self, due: bool, last: bool) -> bool:
        """whether the objective after an epoch is measured: where it is recorded (``due``), at the run's last
        epoch, in full batch (the next step's gradient), and where something reads it: the stopping rule without
        an exact answer to stop at, callbacks (``EpochInfo.loss``), held-out rows (the best epoch keeps it). Other
        epochs skip it, which saves a pass over the data where it is one (``record_every``)."""
        rule_reads = self.at_optimum is None and self.tol is not None and not self.early_stopping
        return (due or last or not self._stochastic or rule_reads or bool(self.callbacks)
                or self.held_out is not None)

    def _guard_parameters(self, state: TrainState) -> None:
        """the guard after an epoch not measured: parameters that are not finite (or whose norm overflows) have
        their objective measured, and the guard judges it"""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an overflowing norm says what it has to say
            finite = math.isfinite(self.engine.norm(state.theta))
        if not finite:
            self._guard(self.objective_grad(state.theta)[0], state)

    def _measured(self, state: TrainState, at_reported: bool) -> Measured:
        """``Measured`` at ``state``; beside the steps, this whole function (the conversions too) runs on the
        measuring thread"""
        objective, grad = self.objective_grad(state.theta)
        if not at_reported or self._blew_up(objective):
            return Measured(objective, grad, None, None)
        return Measured(objective, grad, self._at_reported(state, objective, grad), self.original(state))

    def _measures_beside(self) -> bool:
        """whether the objective after an epoch is measured on a thread while the next epoch's steps run: compiled
        per-sample or minibatch epochs (not recorded step by step) of an engine that allows it
        (``Engine.measures_beside``), on enough rows for a thread to pay, with a second core to run it"""
        return (self._threads_pay(BESIDE_FROM_ROWS) and self.engine.measures_beside(self.task(0.0))
                and two_cores())

    def _at_reported(self, state: TrainState, objective: float, grad) -> tuple[float, Any]:
        """the objective and gradient at the reported parameters, given them at the iterate"""
        if self.reported(state) is state.theta:
            return objective, grad
        return self.objective_grad(state.avg)

    def _epoch_orders(self) -> EpochOrders:
        """the epochs' row orders, each next one drawn while an epoch runs where the engine's compiled epochs
        leave the interpreter free (and there are enough rows for a thread to pay)"""
        ahead = self._threads_pay(ORDERS_AHEAD_ROWS)
        first, self.first_order = self.first_order, None  # (an order is taken once)
        return EpochOrders(self.engine.n_rows, self.shuffle, self.seed, ahead=ahead, first=first)

    @property
    def _stochastic(self) -> bool:
        """per-sample or minibatch epochs (batches smaller than the data), not full batch"""
        return n_batches(self.engine.n_rows, self.batch_size) > 1

    def _threads_pay(self, from_rows: int) -> bool:
        """whether work on a thread beside the epochs can pay: whole epochs (``_whole_epochs``) on ``from_rows``
        rows or more"""
        return self._whole_epochs() and self.engine.n_rows >= from_rows

    def _whole_epochs(self) -> bool:
        """whether the engine takes whole stochastic epochs (``fast_epochs``; not recorded step by step)"""
        return self._stochastic and self.engine.fast_epochs and self.record_every != "step"

    def _steps(self, state: TrainState, grad, lr: float, more: bool = False) -> None:
        """one epoch's steps on ``state`` (``grad``: the full gradient at its start, for a full-batch step;
        ``more``: another epoch follows).

        An engine with ``fast_epochs`` may take over a whole minibatch / per-sample epoch
        with ``run_epoch(task, state, order) -> bool`` (a compiled kernel, a distributed
        pass); it must make exactly the steps the generic loop below would make, and
        returns False to decline (for an optimizer it does not handle).
        """
        if not self._stochastic:
            self.apply(state, grad, lr)
            return
        order = self._orders(state.epoch, more)
        if self.engine.fast_epochs and self.record_every != "step" and self.engine.run_epoch(
                self.task(lr), state, order):
            return
        last = n_batches(self.engine.n_rows, self.batch_size) - 1
        for k, rows in enumerate(batches(self.engine.n_rows, self.batch_size, order)):
            _, batch_grad = self.objective_grad(state.theta, rows)
            self.apply(state, batch_grad, lr)
            if self.record_every == "step" and k < last:  # the epoch's last step is recorded by run()
                self.record(state, *self.objective_grad(self.reported(state)), lr)

    def _due(self, state: TrainState) -> bool:
        return self.record_every == "step" or state.epoch % self.record_every == 0

    def _blew_up(self, objective: float) -> bool:
        """whether the objective is not finite or above BLOWUP·(|the run's start| + 1) (never at the start)"""
        start = self._start_objective
        return start is not None and not (math.isfinite(objective) and objective <= BLOWUP * (abs(start) + 1.0))

    def _guard(self, objective: float, state: TrainState) -> None:
        """stop at once, with a useful message, when the objective explodes"""
        if not self._blew_up(objective):
            return
        start = self._start_objective
        lr = self.schedule(state.epoch - 1)
        suggested, hint = self.advice(lr) if self.advice is not None else (None, "")
        raise DivergenceError(
            f"the fit diverged at epoch {state.epoch}: the loss went from {start:.4g} to {objective:.4g} "
            f"with lr={lr:.4g}" + (f"; {hint}" if hint else ""),
            epoch=state.epoch, suggested_lr=suggested, history=self.history,
        )

    def _track(self, state: TrainState, objective: float) -> bool:
        """the stop rule for a finished epoch: within tol of the exact answer when there is one; without,
        no improvement of the objective by tol (relative) for ``n_iter_no_change`` epochs (with early
        stopping the held-out rule takes the place of that one)"""
        if self.at_optimum is not None:
            return bool(self.at_optimum(self.reported(state)))
        if self.tol is None or self.early_stopping:
            return False
        state.no_improve = 0 if improved(objective, state.best, self.tol) else state.no_improve + 1
        state.best = min(state.best, objective)
        return state.no_improve >= self.n_iter_no_change

    def _validate(self, state: TrainState, objective: float, original=None) -> float | None:
        """the validation loss at the reported parameters after an epoch (None without held-out data); keeps
        the best epoch and counts the epochs without an improvement by tol (relative). ``original``: those
        parameters in the data's units, when already at hand"""
        if self.held_out is None:
            return None
        coef, intercept = original if original is not None else self.original(state)
        val_loss = self.held_out.loss_at(coef, intercept)
        best = state.val_best.val_loss if state.val_best is not None else math.inf
        state.val_no_improve = 0 if improved(val_loss, best, self.tol) else state.val_no_improve + 1
        if val_loss < best:
            state.val_best = Best(state.epoch, val_loss, float(objective), list(coef), float(intercept))
        return val_loss

    def _should_stop(self, state, objective, lr, epochs, outcome, converged: bool, val_loss=None) -> bool:
        info = EpochInfo(state.epoch, state.step, objective, lr, epochs, self.history, val_loss, self._continued_from)
        if any(bool(cb(info)) for cb in self.callbacks):
            outcome.stopped_by = "callback"
            return True
        if converged:
            outcome.converged, outcome.stopped_by = True, "tol"
            return True
        if self.early_stopping and state.val_no_improve >= self.n_iter_no_change:
            outcome.stopped_by = "validation"
            return True
        return False

"""Where a descent stands, and the records the training loop passes around (``training.train``).

``TrainState`` is enough to continue a descent (warm start, ``partial_fit``, resume); ``EpochTask`` is what an
engine's own epoch receives (``Engine.run_epoch``), never the loop; ``Mark`` a copy of the state at an epoch
boundary, where an interrupted fit goes back to; ``Measured`` the objective after an epoch, and ``take_up``
the steps an epoch made ahead on a copy of the state (``Loop._measure``); ``Steps`` the step rule after
'auto' settings are resolved; ``Outcome`` how a run ended.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from ..descent.optim import Optimizer
from .history import History
from .validation import Best


@dataclass
class TrainState:
    """where a descent stands: enough to continue it (warm start, partial_fit)

    ``avg``: the Polyak–Ruppert average of the iterates (None when the fit does not average).
    ``val_best``: the epoch with the lowest validation loss so far, and ``val_no_improve`` the epochs
    since the validation loss last improved by ``tol`` (with held-out data).
    """

    theta: Any
    opt_state: Any
    epoch: int = 0
    step: int = 0
    best: float = math.inf
    no_improve: int = 0
    avg: Any = None
    val_best: Best | None = None
    val_no_improve: int = 0


class EpochTask(NamedTuple):
    """what an engine's own epoch (``Engine.run_epoch``) needs, and nothing more"""

    optimizer: Optimizer
    batch_size: int | None
    lr: float
    seed: int
    #: average the iterates after this step (None: no average)
    average_from: int | None


@dataclass
class Mark:
    """a copy of the state at an epoch boundary, and the history's length there"""

    state: TrainState
    entries: int

    @classmethod
    def take(cls, state: TrainState, history: History) -> "Mark":
        return cls(replace(state, theta=copy.deepcopy(state.theta), opt_state=copy.deepcopy(state.opt_state),
                           avg=copy.deepcopy(state.avg)), len(history))

    def restore(self, state: TrainState, history: History) -> None:
        """put ``state`` and ``history`` back where they were when the mark was taken"""
        for name, value in vars(self.state).items():
            setattr(state, name, value)
        for column in history.columns.values():
            del column[self.entries:]


class Measured(NamedTuple):
    """the training objective and its gradient at the iterate after an epoch, and (``at_reported``) at the
    parameters the fit reports with (``original``) those parameters in the data's units, for the history and the
    held-out rows (None when not asked for, or when the objective blew up)"""

    objective: float
    grad: Any
    at_reported: tuple[float, Any] | None
    original: tuple[list[float], float] | None


#: what an epoch not measured has (``Loop._reads_objective``)
UNMEASURED = Measured(None, None, None, None)


def take_up(state: TrainState, ahead: TrainState) -> None:
    """give ``state`` the steps made ahead on its copy ``ahead`` (what steps change: iterate, optimizer state,
    average, step count)"""
    state.theta, state.opt_state, state.avg, state.step = ahead.theta, ahead.opt_state, ahead.avg, ahead.step


class Steps(NamedTuple):
    """the step rule a fit runs with, after 'auto' settings are resolved"""

    lr: float
    momentum: float
    schedule: str
    epochs: int


@dataclass
class Outcome:
    """how a run of the loop ended"""

    state: TrainState
    converged: bool = False
    interrupted: bool = False
    stopped_by: str = "epochs"
